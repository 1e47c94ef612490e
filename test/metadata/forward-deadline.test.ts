/**
 * A forwarded metadata proposal carries the asker's remaining time, and the leader side works on it no
 * longer than that: the budget only shrinks across the hop (0 on the wire, from a broker that sends none,
 * leaves the leader's own bound). Two TransportForwarders over an in-memory link, on a manual clock; and
 * a follower's store under a client's deadline, whose retries never grant themselves a fresh budget.
 */
import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import type { ForwardTarget, MetadataForwarder } from '../../src/metadata/forwarder.js';
import { MetadataStateMachine } from '../../src/metadata/state-machine.js';
import { MetadataStore } from '../../src/metadata/store.js';
import {
  FORWARD_GROUP_ID,
  forwardedBudgetMs,
  type PeerTransport,
  TransportForwarder,
} from '../../src/metadata/tcp-forwarder.js';
import type { ApplyResult } from '../../src/metadata/types.js';
import type { Envelope } from '../../src/raft/codec.js';
import type { Message, NodeId } from '../../src/raft/core/types.js';
import { silentLogger } from '../../src/raft/logger.js';
import { Deadline, flushMicrotasks, ManualClock } from '../../src/resilience/index.js';

const HANDLE_TIMEOUT_MS = 5_000;

interface Link {
  a: PeerTransport;
  b: PeerTransport;
  sent: Envelope[];
  /** Delivers envelopes to `to` as if `from` had sent them. */
  inject(from: NodeId, to: NodeId, envelopes: readonly Envelope[]): void;
}

/** Two endpoints of one link; every envelope sent is also recorded. */
function link(): Link {
  const handlers = new Map<NodeId, (from: NodeId, envelopes: readonly Envelope[]) => void>();
  const sent: Envelope[] = [];
  const end = (id: NodeId): PeerTransport => ({
    send: (to, envelopes) => {
      sent.push(...envelopes);
      queueMicrotask(() => handlers.get(to)?.(id, envelopes));
    },
    onMessage: (handler) => {
      handlers.set(id, handler);
    },
    close: async () => {},
    isConnected: () => true,
  });
  return {
    a: end(1),
    b: end(2),
    sent,
    inject: (from, to, envelopes) => handlers.get(to)?.(from, envelopes),
  };
}

function forwarders(clock: ManualClock, target: ForwardTarget) {
  const l = link();
  const { a, b } = l;
  const options = { handleTimeoutMs: HANDLE_TIMEOUT_MS, logger: silentLogger, clock, timers: clock };
  const follower = new TransportForwarder({ ...options, nodeId: 1, transport: a });
  const leader = new TransportForwarder({ ...options, nodeId: 2, transport: b });
  leader.setTarget(target);
  return { follower, leader, ...l };
}

function prop(sent: readonly Envelope[]): Message {
  const m = sent.find((e) => e.groupId === FORWARD_GROUP_ID && e.message.type === 'prop')?.message;
  expect(m).toBeDefined();
  return m!;
}

describe('forwarded proposals carry the remaining time', () => {
  it("encodes the asker's remaining ms, and the leader side's deadline is that, not its own bound", async () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    const { follower, sent } = forwarders(clock, {
      handleForwarded: async (_bytes, remote) => {
        seen.push(remote?.remainingMs() ?? -1);
        return { ok: true, version: 3 };
      },
    });
    const asker = Deadline.fromTimeout(800, { clock, timers: clock });
    clock.advance(300); // spent elsewhere before the hop (leader wait, an earlier attempt)
    const result = await follower.forward(2, new Uint8Array([9]), asker);
    expect(result).toEqual({ ok: true, version: 3 });
    expect(prop(sent).commit).toBe(500);
    expect(seen).toEqual([500]);
    asker.dispose();
  });

  it('the leader side stops waiting at the asker deadline, long before its own bound', async () => {
    const clock = new ManualClock(0);
    let remote: Deadline | undefined;
    const { follower } = forwarders(clock, {
      handleForwarded: (_bytes, d) => {
        remote = d;
        return new Promise<ApplyResult>((_, reject) =>
          d?.signal.addEventListener('abort', () => reject(d.signal.reason), { once: true }),
        );
      },
    });
    const asker = Deadline.fromTimeout(200, { clock, timers: clock });
    const answer = follower.forward(2, new Uint8Array([9]), asker).catch((err: unknown) => err);
    await flushMicrotasks();
    expect(remote?.signal.aborted).toBe(false);
    clock.advance(200);
    expect(remote?.signal.aborted).toBe(true);
    expect((await answer) as { code?: string }).toMatchObject({ code: 'NETWORK_ERROR' });
    expect(clock.pendingCount).toBe(0); // no timer of either side left behind
  });

  it('a request with no budget on the wire (an older broker) gets the leader side bound', async () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    const { inject, sent } = forwarders(clock, {
      handleForwarded: async (_bytes, remote) => {
        seen.push(remote?.remainingMs() ?? -1);
        return { ok: true, version: 1 };
      },
    });
    const old: Message = {
      type: 'prop',
      from: 1,
      to: 2,
      term: 0,
      logTerm: 0,
      index: 1,
      commit: 0, // what a broker sent before deadlines travelled
      reject: false,
      rejectHint: 0,
      entries: [],
      context: new Uint8Array([9]),
    };
    inject(1, 2, [{ groupId: FORWARD_GROUP_ID, message: old }]);
    await flushMicrotasks();
    expect(seen).toEqual([HANDLE_TIMEOUT_MS]);
    expect(sent.some((e) => e.message.type === 'app-resp')).toBe(true);
    expect(forwardedBudgetMs(0, HANDLE_TIMEOUT_MS)).toBe(HANDLE_TIMEOUT_MS);
    expect(forwardedBudgetMs(120, HANDLE_TIMEOUT_MS)).toBe(120);
    expect(forwardedBudgetMs(60_000, HANDLE_TIMEOUT_MS)).toBe(HANDLE_TIMEOUT_MS);
  });
});

describe("a follower's metadata write under a client's deadline", () => {
  it('forwards each attempt with what is left of the deadline, shrinking across retries, and stops at it', async () => {
    const clock = new ManualClock(0);
    const sm = new MetadataStateMachine();
    const budgets: number[] = [];
    // The leader is unreachable: every forward fails at once, so the store keeps trying within its budget.
    const forwarder: MetadataForwarder = {
      forward: async (_leader, _bytes, deadline) => {
        budgets.push(deadline.remainingMs());
        throw new StreamBusError('NETWORK_ERROR', { operation: 'test' });
      },
    };
    const store = new MetadataStore({
      raft: {
        id: 1,
        propose: () => Promise.reject(new Error('a follower does not propose')),
        readIndex: () => Promise.resolve(0),
        status: () => ({ role: 'follower', leaderId: 2, term: 1 }),
      },
      stateMachine: sm,
      forwarder,
      clock,
      timers: clock,
      random: () => 0.5,
      attemptTimeoutMs: 5_000, // longer than the client's whole budget
      leaderPollMs: 100,
    });
    const client = Deadline.fromTimeout(1_000, { clock, timers: clock, operation: 'request.CreateTopics' });
    const write = store
      .createTopic({ name: 't', assignment: [[1]] }, { deadline: client })
      .catch((err: unknown) => err);
    await clock.advanceAsync(1_000);
    const err = (await write) as StreamBusError;
    expect(err.code).toBe('REQUEST_TIMED_OUT');
    expect(budgets.length).toBeGreaterThan(2);
    expect(budgets[0]).toBe(1_000); // the client's, not the attempt's 5 s
    for (let i = 1; i < budgets.length; i++) expect(budgets[i]!).toBeLessThan(budgets[i - 1]!);
    expect(clock.pendingCount).toBe(0); // every timer of the write (attempts, backoff, polls) is gone
  });
});

describe('a lost connection to the metadata leader', () => {
  it('fails the forwards waiting on it at once (retriable) and tells Raft', async () => {
    const clock = new ManualClock(0);
    let lost: ((peer: NodeId) => void) | undefined;
    const transport: PeerTransport = {
      send: () => {}, // the leader never answers: its process died
      onMessage: () => {},
      onPeerLost: (handler) => {
        lost = handler;
      },
      close: async () => {},
      isConnected: () => true,
    };
    const follower = new TransportForwarder({
      nodeId: 1,
      transport,
      handleTimeoutMs: HANDLE_TIMEOUT_MS,
      logger: silentLogger,
      clock,
      timers: clock,
    });
    const toRaft: NodeId[] = [];
    follower.raftTransport.onPeerLost?.((peer) => toRaft.push(peer));
    const deadline = () => Deadline.fromTimeout(60_000, { clock, timers: clock, operation: 'test' });
    const toTwo = follower.forward(2, new Uint8Array([1]), deadline()).catch((err: unknown) => err);
    const toThree = follower.forward(3, new Uint8Array([1]), deadline()).catch((err: unknown) => err);
    lost?.(2);
    const err = (await toTwo) as StreamBusError;
    expect(err.code).toBe('NETWORK_ERROR');
    expect(err.message).toContain('connection to metadata leader 2 lost');
    expect(toRaft).toEqual([2]);
    // A forward to another peer still waits (it ends at its deadline).
    let settled = false;
    void toThree.then(() => {
      settled = true;
    });
    await flushMicrotasks();
    expect(settled).toBe(false);
    await clock.advanceAsync(60_000);
    expect(((await toThree) as StreamBusError).code).toBe('NETWORK_ERROR');
  });
});
