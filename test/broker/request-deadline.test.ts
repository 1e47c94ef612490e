/**
 * One deadline per request, carried into the work it starts: a produce whose replication cannot complete
 * is answered REQUEST_TIMED_OUT at the client's own timeout (not the broker's longer request timeout), its
 * wait is abandoned (no proposal waiter left behind) while the batch already in the log stays there; an
 * offset commit is abandoned the same way, and one still queued behind it is never written; a long poll
 * ends at the deadline.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServedPartition, TopicCatalog } from '../../src/broker/catalog.js';
import { type CommitRequest, GroupShard } from '../../src/broker/groups/group-shard.js';
import type { HandlerContext } from '../../src/broker/handlers/context.js';
import { handleFetch } from '../../src/broker/handlers/fetch.js';
import { PartitionReplica } from '../../src/broker/replica/partition-replica.js';
import { type RequestObserver, RequestRouter } from '../../src/broker/router.js';
import { codeFromWire } from '../../src/errors/index.js';
import { silentLogger } from '../../src/observability/index.js';
import { ApiKey, decodeResponseHeader, encodeRequest } from '../../src/protocol/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import type { NodeId } from '../../src/raft/core/types.js';
import { RaftHost } from '../../src/raft/host.js';
import { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import type { Envelope, RaftTransport } from '../../src/raft/transport/types.js';
import { Deadline, ManualClock } from '../../src/resilience/index.js';
import { catalogServing } from '../helpers/catalog-stub.js';
import { MemoryPartitionStore } from '../helpers/memory-partition-store.js';
import { waitFor } from '../helpers/wait-for.js';
import { batchOf, rejectionCode } from '../helpers/wire.js';

const quiet = silentLogger();

const IDS = [1, 2, 3];
/** Far longer than any wait below: a waiter still pending at the end was not abandoned at the deadline. */
const LONG_MS = 60_000;

/**
 * A transport that can stop carrying appends while heartbeats still flow: replication stalls, yet the
 * leader keeps hearing from a quorum (check-quorum) and stays leader.
 */
class StallingTransport implements RaftTransport {
  stalled = false;
  constructor(private readonly inner: RaftTransport) {}
  send(to: NodeId, envelopes: readonly Envelope[]): void {
    const passing = this.stalled ? envelopes.filter((e) => e.message.type !== 'app') : envelopes;
    if (passing.length > 0) this.inner.send(to, passing);
  }
  onMessage(handler: (from: NodeId, envelopes: readonly Envelope[]) => void): void {
    this.inner.onMessage(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Node {
  transport: StallingTransport;
  host: RaftHost;
  store: MemoryPartitionStore;
  replica: PartitionReplica;
}

const running: Node[] = [];
afterEach(async () => {
  for (const n of running.splice(0)) {
    await n.replica.close();
    await n.host.stop();
  }
});

async function startGroup(proposalTimeoutMs = LONG_MS): Promise<Node[]> {
  const hub = new MemoryHub();
  const nodes: Node[] = [];
  for (const id of IDS) {
    const transport = new StallingTransport(hub.transport(id));
    const host = new RaftHost({ nodeId: id, transport, tickIntervalMs: 10 });
    const store = MemoryPartitionStore.bootstrapped(IDS);
    const replica = await PartitionReplica.open({
      topic: 't',
      partition: 0,
      groupId: 'p/t/0/1',
      store,
      host,
      logger: quiet,
      nowMs: () => Date.now(),
      batchBytesMax: () => 1 << 20,
      proposalTimeoutMs,
    });
    const node = { transport, host, store, replica };
    running.push(node);
    nodes.push(node);
  }
  return nodes;
}

/** A catalog serving one partition (and recording the deadline each append was given). */
function servingCatalog(served: ServedPartition, deadlines: Deadline[]): TopicCatalog {
  return catalogServing({
    ...served,
    append: (batches, acks, deadline) => {
      if (deadline !== undefined) deadlines.push(deadline);
      return served.append(batches, acks, deadline);
    },
    leadership: () => served.leadership(),
    highWatermark: () => served.highWatermark(),
    logStartOffset: () => served.logStartOffset(),
  });
}

/** Data batches (not Raft-only entries) in a node's log. */
function dataBatches(node: Node): number {
  return node.store.allEntries().filter((e) => e.type === 'normal' && e.data.byteLength >= 61).length;
}

function commitOf(offset: number): CommitRequest {
  return {
    groupId: 'g',
    identity: { memberId: '', groupInstanceId: null, generation: -1 },
    reset: false,
    partitions: [{ topic: 't', partition: 0, offset, metadata: '' }],
  };
}

function context(catalog: TopicCatalog, overrides: Partial<HandlerContext> = {}): HandlerContext {
  return {
    clock: { nowMs: () => Date.now() },
    catalog,
    limits: { fetchWaitMaxMs: LONG_MS, fetchBytesMax: 1 << 20 },
    self: { id: 1, host: '127.0.0.1', port: 9092, rack: null },
    clusterId: () => 'test',
    brokerVersion: 'test',
    observer: { onProduced: () => {}, onFetched: () => {} },
    shutdownSignal: new AbortController().signal,
    ...overrides,
  };
}

describe('request deadlines', () => {
  it('acks=all that cannot replicate: REQUEST_TIMED_OUT at the client timeoutMs, the wait abandoned, the log kept', async () => {
    const nodes = await startGroup();
    const l = await waitFor('a leader', () => nodes.find((n) => n.replica.isLeader()));
    await l.replica.append(batchOf(['warm-up'])); // replication works before the stall
    const hwBefore = l.replica.highWatermark();

    const timeouts: { operation: string; timeoutMs: number }[] = [];
    const observer: RequestObserver = {
      onRequest: () => {},
      onTimeout: (operation, timeoutMs) => timeouts.push({ operation, timeoutMs }),
    };
    const deadlines: Deadline[] = [];
    // The broker would wait a minute; the producer asked for 200 ms.
    const router = new RequestRouter(context(servingCatalog(l.replica, deadlines)), observer, LONG_MS);
    const clientTimeoutMs = 200;
    const frame = encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 0, correlationId: 7, clientId: 'deadline' },
      {
        acks: -1,
        timeoutMs: clientTimeoutMs,
        partitions: [{ topic: 't', partition: 0, records: batchOf(['stuck']) }],
      },
    );
    l.transport.stalled = true;
    const started = Date.now();
    const response = await router.route(frame.subarray(4), { id: 1, remoteAddress: 'test' });
    const elapsedMs = Date.now() - started;

    const header = decodeResponseHeader(Buffer.concat(response!.chunks).subarray(4));
    expect(header.correlationId).toBe(7);
    expect(codeFromWire(header.errorCode)).toBe('REQUEST_TIMED_OUT');
    expect(timeouts).toEqual([{ operation: 'request.Produce', timeoutMs: clientTimeoutMs }]);
    expect(elapsedMs).toBeLessThan(LONG_MS / 4); // generous: the client's budget, not the broker's
    // The wait was abandoned: no proposal waiter and no listener on the request's signal remain.
    expect(l.replica.node.status().pendingProposals).toBe(0);
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]!.signal.aborted).toBe(true);
    expect(getEventListeners(deadlines[0]!.signal, 'abort')).toHaveLength(0);
    expect(l.replica.highWatermark()).toBe(hwBefore);

    // The batch was in the leader's log already and stays: once replication resumes it commits.
    l.transport.stalled = false;
    await waitFor('the timed-out batch to commit', () => l.replica.highWatermark() === hwBefore + 1);
  });

  it("an idempotent producer's batch outlives its request's deadline: the retry gets its offset, the log one copy", async () => {
    const nodes = await startGroup();
    const l = await waitFor('a leader', () => nodes.find((n) => n.replica.isLeader()));
    await l.replica.append(batchOf(['warm-up']));
    const idempotent = encodeRecordBatch([{ value: 'once' }], {
      baseTimestamp: 1_700_000_000_000,
      producerId: 42,
      producerEpoch: 0,
      baseSequence: 0,
    });
    const before = dataBatches(l);
    const clock = new ManualClock(0);
    const request = Deadline.fromTimeout(100, { clock, timers: clock, operation: 'request.Produce' });
    l.transport.stalled = true;
    const first = rejectionCode(l.replica.append(idempotent, -1, request));
    await waitFor('the batch in the leader log', () => dataBatches(l) === before + 1);
    clock.advance(100);
    expect(await first).toBe('REQUEST_TIMED_OUT');
    // Its write is not abandoned (it is in the log): the producer's retry waits for it, not a second copy.
    l.transport.stalled = false;
    const retry = await l.replica.append(idempotent, -1);
    expect(retry.baseOffset).toBe(1);
    expect(dataBatches(l)).toBe(before + 1);
    expect(l.replica.node.status().pendingProposals).toBe(0);
  });

  it("an idempotent batch outlives the replica's proposal timeout too: the retry gets its offset, the log one copy", async () => {
    const nodes = await startGroup(200);
    const l = await waitFor('a leader', () => nodes.find((n) => n.replica.isLeader()));
    await l.replica.append(batchOf(['warm-up']));
    const idempotent = encodeRecordBatch([{ value: 'once' }], {
      baseTimestamp: 1_700_000_000_000,
      producerId: 43,
      producerEpoch: 0,
      baseSequence: 0,
    });
    const before = dataBatches(l);
    l.transport.stalled = true;
    // No request deadline: the append is bounded by the proposal timeout alone.
    const first = rejectionCode(l.replica.append(idempotent, -1));
    await waitFor('the batch in the leader log', () => dataBatches(l) === before + 1);
    expect(await first).toBe('REQUEST_TIMED_OUT');
    l.transport.stalled = false;
    const retry = await l.replica.append(idempotent, -1);
    expect(retry.baseOffset).toBe(1);
    expect(dataBatches(l)).toBe(before + 1);
  });

  it('many waits on one request deadline (a produce to many partitions) are not reported as a listener leak', async () => {
    const nodes = await startGroup();
    const l = await waitFor('a leader', () => nodes.find((n) => n.replica.isLeader()));
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    try {
      const router = new RequestRouter(
        context(servingCatalog(l.replica, [])),
        { onRequest: () => {} },
        LONG_MS,
      );
      const frame = encodeRequest(
        { apiKey: ApiKey.Produce, apiVersion: 0, correlationId: 8, clientId: 'deadline' },
        {
          acks: -1,
          timeoutMs: LONG_MS,
          partitions: Array.from({ length: 16 }, (_, i) => ({
            topic: 't',
            partition: 0,
            records: batchOf([`v${i}`]),
          })),
        },
      );
      const response = await router.route(frame.subarray(4), { id: 1, remoteAddress: 'test' });
      expect(decodeResponseHeader(Buffer.concat(response!.chunks).subarray(4)).errorCode).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('an offset commit that cannot replicate is abandoned at its deadline; one queued behind it is never written', async () => {
    const nodes = await startGroup();
    const l = await waitFor('a leader', () => nodes.find((n) => n.replica.isLeader()));
    const shard = await GroupShard.load({
      index: 0,
      served: l.replica,
      brokerId: 1,
      machineOptions: {
        initialRebalanceDelayMs: 0,
        minSessionTimeoutMs: 1,
        maxSessionTimeoutMs: LONG_MS,
        maxSize: 10,
        newMemberId: (c) => `${c}-1`,
      },
      nowMs: () => Date.now(),
      checkpointIntervalMs: LONG_MS,
      logger: quiet,
    });
    const clock = new ManualClock(0);
    const first = Deadline.fromTimeout(100, { clock, timers: clock, operation: 'request.OffsetCommit' });
    const second = Deadline.fromTimeout(50, { clock, timers: clock, operation: 'request.OffsetCommit' });
    const before = dataBatches(l);
    l.transport.stalled = true;
    const a = rejectionCode(shard.commit(commitOf(5), first));
    const b = rejectionCode(shard.commit(commitOf(6), second));
    await waitFor('the first commit in the leader log', () => dataBatches(l) === before + 1);

    clock.advance(50); // the queued commit's deadline: it stops waiting before its turn
    expect(await b).toBe('REQUEST_TIMED_OUT');
    clock.advance(50); // the first one's: its wait for replication ends
    expect(await a).toBe('REQUEST_TIMED_OUT');
    expect(l.replica.node.status().pendingProposals).toBe(0);
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(second.signal, 'abort')).toHaveLength(0);
    // The shard takes writes again, and the abandoned queued commit never reached the log.
    l.transport.stalled = false;
    await shard.commit(commitOf(7));
    expect(dataBatches(l)).toBe(before + 2);
    expect(shard.committed('g', [{ topic: 't', partition: 0 }])[0]!.offset).toBe(7);
    shard.close();
  });

  it('a long poll ends at the request deadline, unsubscribing from the partitions it waited on', async () => {
    const clock = new ManualClock(1_000);
    let subscribed = 0;
    const partition = {
      read: async () => ({ records: Buffer.alloc(0), highWatermark: 0, logStartOffset: 0 }),
      highWatermark: () => 0,
      onHighWatermark: () => {
        subscribed++;
        return () => subscribed--;
      },
    } as unknown as ServedPartition;
    const catalog = { partition: () => partition } as unknown as TopicCatalog;
    const deadline = Deadline.fromTimeout(100, { clock, timers: clock, operation: 'request.Fetch' });
    let answered = false;
    const fetching = handleFetch(
      context(catalog),
      {
        maxWaitMs: LONG_MS,
        minBytes: 1,
        maxBytes: 1 << 20,
        partitions: [{ topic: 't', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
      } as never,
      { clientId: 'c', clientHost: 'h', deadline },
    ).then((r) => {
      answered = true;
      return r;
    });
    await waitFor('the poll to wait', () => subscribed === 1);
    await clock.advanceAsync(99);
    expect(answered).toBe(false);
    await clock.advanceAsync(1);
    const response = await fetching;
    expect(response.partitions[0]!.records.length).toBe(0);
    expect(subscribed).toBe(0);
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
  });
});
