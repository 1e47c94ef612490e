/**
 * The producer id counter in the metadata image: blocks are disjoint, never handed out twice (not across a
 * snapshot and restore, not to a retried proposal), and the store method answers the block's first id.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { InvariantViolation, StreamBusError } from '../../src/errors/index.js';
import { decodeCommand, encodeCommand } from '../../src/metadata/commands.js';
import { decodeSnapshot, encodeSnapshot, parseApplyResult } from '../../src/metadata/snapshot.js';
import { MetadataState, PRODUCER_ID_BLOCK_MAX } from '../../src/metadata/state.js';
import { MetadataStateMachine } from '../../src/metadata/state-machine.js';
import { type MetadataRaft, MetadataStore } from '../../src/metadata/store.js';
import { ManualClock } from '../../src/resilience/index.js';
import { codeOf, expectOk, withBrokers } from './fixtures.js';

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

function allocate(s: MetadataState, count: number, requestId: string | null = null) {
  return s.apply({ type: 'allocateProducerIds', count }, requestId);
}

describe('allocateProducerIds (apply)', () => {
  it('hands out consecutive, disjoint blocks starting at id 1', () => {
    const s = new MetadataState();
    expect(expectOk(allocate(s, 1000)).firstProducerId).toBe(1);
    expect(expectOk(allocate(s, 1)).firstProducerId).toBe(1001);
    expect(expectOk(allocate(s, 500)).firstProducerId).toBe(1002);
    expect(s.nextProducerId).toBe(1502);
    expect(s.version).toBe(3);
  });

  it('a retried proposal (same request id) gets its first block again and reserves nothing more', () => {
    const s = new MetadataState();
    const first = expectOk(allocate(s, 1000, 'req-1'));
    const again = expectOk(allocate(s, 1000, 'req-1'));
    expect(again).toEqual(first);
    expect(s.nextProducerId).toBe(1001);
    expect(expectOk(allocate(s, 1000, 'req-2')).firstProducerId).toBe(1001);
  });

  it('refuses a block size outside 1..PRODUCER_ID_BLOCK_MAX and leaves the state as it was', () => {
    const s = withBrokers(1);
    const version = s.version;
    expect(codeOf(allocate(s, PRODUCER_ID_BLOCK_MAX + 1))).toBe('INVALID_REQUEST');
    expect(codeOf(allocate(s, 0))).toBe('INVALID_REQUEST');
    expect(s.version).toBe(version);
    expect(s.nextProducerId).toBe(1);
  });

  it('refuses a block that would pass the largest safe integer', () => {
    const s = new MetadataState();
    s.nextProducerId = Number.MAX_SAFE_INTEGER - 5;
    expect(codeOf(allocate(s, 10))).toBe('METADATA_CONFLICT');
    expect(expectOk(allocate(s, 6)).firstProducerId).toBe(Number.MAX_SAFE_INTEGER - 5);
  });
});

describe('producer id counter in snapshots', () => {
  it('survives a snapshot round trip: a restored replica never hands out a block again', () => {
    const s = new MetadataState();
    const handedOut = [expectOk(allocate(s, 1000)), expectOk(allocate(s, 1000, 'r'))].map(
      (r) => r.firstProducerId,
    );
    const { state } = decodeSnapshot(encodeSnapshot(s, 9));
    expect(state.nextProducerId).toBe(2001);
    const next = expectOk(allocate(state, 1000)).firstProducerId as number;
    for (const first of handedOut) expect(next).toBeGreaterThanOrEqual((first as number) + 1000);
    // The remembered result of a retried request survives with its block, too.
    expect(expectOk(allocate(state, 1000, 'r')).firstProducerId).toBe(1001);
  });

  it('two state machines, one restored from a snapshot midway, allocate the same blocks', () => {
    const a = new MetadataStateMachine();
    let b = new MetadataStateMachine();
    const results: [unknown, unknown][] = [];
    for (let i = 1; i <= 6; i++) {
      const entry = {
        term: 1,
        index: i,
        type: 'normal' as const,
        data: encodeCommand({ type: 'allocateProducerIds', count: 100 * i }),
      };
      if (i === 4) {
        const restored = new MetadataStateMachine();
        restored.restore(b.snapshot());
        b = restored;
      }
      results.push([a.apply(entry), b.apply(entry)]);
    }
    for (const [ra, rb] of results) expect(rb).toEqual(ra);
    expect(b.snapshot()).toEqual(a.snapshot());
  });

  it('a malformed counter in a snapshot fails an invariant', () => {
    const good = packr.unpack(encodeSnapshot(new MetadataState(), 1)) as [number, Record<string, unknown>];
    for (const bad of [0, -1, 1.5, 'x', null]) {
      const bytes = packr.pack([1, { ...good[1], nextProducerId: bad }]);
      expect(() => decodeSnapshot(bytes)).toThrow(InvariantViolation);
    }
  });

  it('an apply result from a forwarding peer keeps its first producer id; a bad one is refused', () => {
    expect(parseApplyResult({ ok: true, version: 4, firstProducerId: 1001 })).toEqual({
      ok: true,
      version: 4,
      firstProducerId: 1001,
    });
    expect(() => parseApplyResult({ ok: true, version: 4, firstProducerId: 0 })).toThrow(InvariantViolation);
  });
});

/** A leader that applies every proposal; `loseAnswers` commits a proposal and then fails the call. */
class LeaderRaft implements MetadataRaft {
  readonly id = 1;
  readonly sm = new MetadataStateMachine();
  loseAnswers = 0;
  proposals = 0;
  private index = 0;

  status() {
    return { role: 'leader' as const, leaderId: 1, term: 1 };
  }

  async propose(data: Uint8Array): Promise<unknown> {
    this.proposals++;
    const result = this.sm.apply({ term: 1, index: ++this.index, type: 'normal', data });
    if (this.loseAnswers > 0) {
      this.loseAnswers--;
      throw new StreamBusError('PROPOSAL_DROPPED');
    }
    return result;
  }

  async readIndex(): Promise<number> {
    return this.index;
  }
}

function storeOver(raft: LeaderRaft, clock = new ManualClock(1_000)): MetadataStore {
  return new MetadataStore({ raft, stateMachine: raft.sm, clock, timers: clock, random: () => 0.5 });
}

describe('MetadataStore.allocateProducerIds', () => {
  it('proposes allocateProducerIds and answers the first id of each new block', async () => {
    const raft = new LeaderRaft();
    const proposed: unknown[] = [];
    const propose = raft.propose.bind(raft);
    raft.propose = (data) => {
      proposed.push(decodeCommand(data).command);
      return propose(data);
    };
    const store = storeOver(raft);
    expect(await store.allocateProducerIds(1000)).toEqual({ firstProducerId: 1 });
    expect(await store.allocateProducerIds(1000)).toEqual({ firstProducerId: 1001 });
    expect(proposed).toEqual([
      { type: 'allocateProducerIds', count: 1000 },
      { type: 'allocateProducerIds', count: 1000 },
    ]);
  });

  it('a proposal that committed but whose answer was lost is retried and answers the same block', async () => {
    const raft = new LeaderRaft();
    raft.loseAnswers = 1;
    const clock = new ManualClock(1_000);
    const store = storeOver(raft, clock);
    const block = store.allocateProducerIds(1000);
    await clock.advanceAsync(0);
    await clock.advanceAsync(25); // the first backoff: 0.5 * 50 ms
    expect(await block).toEqual({ firstProducerId: 1 });
    expect(raft.proposals).toBe(2);
    // Only one block was reserved: the retry was answered from the request id.
    expect(await store.allocateProducerIds(10)).toEqual({ firstProducerId: 1001 });
  });

  it('an invalid block size is refused without a retry', async () => {
    const raft = new LeaderRaft();
    const store = storeOver(raft);
    await expect(store.allocateProducerIds(0)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(store.allocateProducerIds(PRODUCER_ID_BLOCK_MAX + 1)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    expect(raft.proposals).toBe(1);
  });
});
