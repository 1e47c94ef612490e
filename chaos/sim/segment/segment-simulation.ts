/**
 * A seeded, deterministic simulation of one partition group: three replicas, each a Raft core over a
 * ReplicatedLog on its own SimStorageFs, a lossy network (../network.ts), a client producing Kafka record
 * batches to the leader, and crash faults (power loss between steps, power loss part-way through a save,
 * whole-group power loss) with torn writes. At the end the network heals, every node restarts, and the
 * group must converge with every acknowledged batch on every node (segment-checker.ts).
 *
 * Determinism: one step at a time, every promise awaited in a fixed order (node 1, 2, 3), and all
 * randomness from seeded streams. The same seed replays the same run (compare `traceHash`).
 */

import { asBuffer } from '../../../src/protocol/bytes.js';
import { encodeRecordBatch } from '../../../src/protocol/record-batch.js';
import { type Message, mulberry32, type NodeId } from '../../../src/raft/core/index.js';
import { quietTick } from '../../../src/raft/quiet-tick.js';
import type { StorageLogger } from '../../../src/storage/types.js';
import { type NetworkFaults, SimNetwork } from '../network.js';
import { TraceHash } from '../trace-hash.js';
import { batchIdOf, type FinalNodeState, isDataEntry, SegmentChecker } from './segment-checker.js';
import { allEntries, converged, describeNodes, readData } from './segment-inspect.js';
import { SegmentNode, type SegmentNodeHooks } from './segment-node.js';
import { isSimPowerLoss } from './sim-storage-fs.js';

export interface SegmentSimOptions {
  /** Steps with faults before healing. */
  readonly faultSteps: number;
  /** Steps allowed after healing for the group to converge. */
  readonly convergeSteps: number;
  readonly network: NetworkFaults;
  /** Per step: probability the client proposes a batch. */
  readonly proposeRate: number;
  /** Per step: power loss of one live node between steps. */
  readonly crashRate: number;
  /** Per step: arm a power loss part-way through one of a live node's next few storage operations. */
  readonly tornCrashRate: number;
  /** Per restart: power loss part-way through recovery. */
  readonly recoveryCrashRate: number;
  /** Per step: power loss of every live node at once. */
  readonly groupCrashRate: number;
  readonly partitionRate: number;
  readonly healRate: number;
  /** A crashed node restarts after a delay uniform in [1, restartMaxDelay] steps. */
  readonly restartMaxDelay: number;
  readonly segmentBytes: number;
  /** Local snapshot every this many applied entries, then retention below it; 0 disables both. */
  readonly snapshotEveryEntries: number;
  /**
   * Raise a recovered commit index below the snapshot index to it (works around a store bug; see
   * segment-node.ts). When false such a restart fails the run.
   */
  /** Retention keeps about this many bytes of segments (only below the snapshot); -1 keeps everything. */
  readonly retentionBytes: number;
  readonly dirModel: 'journaled' | 'strict';
  /** How an interrupted write is torn (sim-storage-fs.ts). */
  readonly tearModel: 'prefix' | 'sectors';
  /**
   * Sabotage for the checker's own tests: 'ignore-fsync' makes datasync do nothing (the store acknowledges
   * before its data is durable); 'ack-before-commit' acknowledges a batch as soon as the leader accepts it.
   */
  readonly sabotage?: 'ignore-fsync' | 'ack-before-commit';
  /** Prints storage log lines and fault events (replaying one seed). */
  readonly verbose?: boolean;
}

export const DEFAULT_SEGMENT_SIM: SegmentSimOptions = {
  faultSteps: 400,
  convergeSteps: 400,
  network: { dropRate: 0.05, duplicateRate: 0.02, minDelay: 1, maxDelay: 3 },
  proposeRate: 0.5,
  crashRate: 0.01,
  tornCrashRate: 0.015,
  groupCrashRate: 0.002,
  recoveryCrashRate: 0.2,
  partitionRate: 0.01,
  healRate: 0.03,
  restartMaxDelay: 60,
  segmentBytes: 1200,
  snapshotEveryEntries: 25,
  retentionBytes: 1500,
  dirModel: 'journaled',
  tearModel: 'prefix',
};

export interface SegmentSimStats {
  proposed: number;
  acked: number;
  crashes: number;
  tornCrashes: number;
  groupCrashes: number;
  recoveryCrashes: number;
  tornWrites: number;
  restarts: number;
  snapshotsInstalled: number;
  /** Leaders that went quiet, and quiet nodes woken by a silent peer (src/raft/quiet-tick.ts). */
  quiesces: number;
  silentPeerWakes: number;
  /** Restarts where recovery left the commit index below the snapshot (the store bug worked around). */
  messages: number;
  lastIndex: number;
  endOffset: number;
  segments: number;
  convergedAfterSteps: number;
}

export interface SegmentSimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: string;
  readonly traceHash: string;
  readonly stats: SegmentSimStats;
}

const IDS: readonly NodeId[] = [1, 2, 3];
const CRASH_KINDS = ['', 'between steps', 'during a save', 'whole group', 'during recovery'];

function verboseLogger(id: NodeId, now: () => number): StorageLogger {
  const line = (level: string) => (obj: Record<string, unknown>, msg: string) =>
    console.log(`[${now()}] node ${id} ${level} ${msg} ${JSON.stringify(obj)}`);
  return { info: line('info'), warn: line('warn'), error: line('error') };
}
const MSG_TYPES = ['app', 'app-resp', 'vote', 'vote-resp', 'pre-vote', 'pre-vote-resp', 'heartbeat'];

export async function runSegmentSimulation(
  seed: number,
  overrides: Partial<SegmentSimOptions> = {},
): Promise<SegmentSimResult> {
  const o: SegmentSimOptions = { ...DEFAULT_SEGMENT_SIM, ...overrides };
  const faults = mulberry32(seed);
  const netRandom = mulberry32(seed ^ 0x5f3759df);
  const crashRandom = mulberry32(seed ^ 0x1b873593);
  const trace = new TraceHash();
  const checker = new SegmentChecker();
  const net = new SimNetwork(netRandom, { ...o.network });
  const stats: SegmentSimStats = {
    proposed: 0,
    acked: 0,
    crashes: 0,
    tornCrashes: 0,
    groupCrashes: 0,
    recoveryCrashes: 0,
    tornWrites: 0,
    restarts: 0,
    snapshotsInstalled: 0,
    quiesces: 0,
    silentPeerWakes: 0,
    messages: 0,
    lastIndex: 0,
    endOffset: 0,
    segments: 0,
    convergedAfterSteps: -1,
  };
  let now = 0;
  const clock = { nowMs: () => 1_700_000_000_000 + now * 10 };
  const nodes = IDS.map(
    (id) =>
      new SegmentNode(
        id,
        {
          electionTimeoutTicks: 10,
          maxSizePerMsgBytes: 2048,
          maxInflightMsgs: 8,
          snapshotEveryEntries: o.snapshotEveryEntries,
          // Zeros ahead of the segment end in the smallest chunks (one block), so fills, crashes among them and
          // rolls over them happen often (preallocated-file.ts).
          log: {
            segmentBytes: o.segmentBytes,
            indexIntervalBytes: 256,
            retentionBytes: o.retentionBytes,
            preallocateBytes: 4096,
          },
          ...(o.verbose === true ? { logger: verboseLogger(id, () => now) } : {}),
          fs: {
            dirModel: o.dirModel,
            tearModel: o.tearModel,
            ...(o.sabotage === 'ignore-fsync' ? { ignoreFsync: true } : {}),
          },
        },
        clock,
      ),
  );
  const heard = (from: NodeId, to: NodeId): boolean =>
    nodes[from - 1]?.alive === true && !net.isCut(from, to);
  const restartAt = new Map<NodeId, number>();
  let nextBatchId = 1;

  const crashNode = (n: SegmentNode, kind: number): void => {
    const torn = n.fs.stats.tornWrites;
    n.crash(crashRandom);
    stats.tornWrites += n.fs.stats.tornWrites - torn;
    restartAt.set(n.id, now + 1 + Math.floor(faults() * o.restartMaxDelay));
    trace.add(10, kind, n.id, n.life);
    if (o.verbose === true) console.log(`[${now}] node ${n.id} power loss (${CRASH_KINDS[kind]})`);
  };

  const hooks: SegmentNodeHooks = {
    send(m: Message) {
      stats.messages++;
      net.send(now, m);
    },
    leader(n, term) {
      checker.onLeader(n.id, term);
      trace.add(11, n.id, term);
    },
    applied(n, e) {
      checker.onApplied(n.id, e, n.offsets);
      const p = n.pending.get(e.index);
      if (p === undefined) return;
      n.pending.delete(e.index);
      if (p.term !== e.term) return;
      const batch = asBuffer(e.data);
      const id = isDataEntry(e) ? batchIdOf(batch) : undefined;
      if (id !== p.batchId) {
        checker.fail(
          'ack',
          `node ${n.id} applied ${id} at index ${e.index} term ${e.term}, proposed ${p.batchId}`,
        );
        return;
      }
      const offset = Number(batch.readBigInt64BE(0));
      checker.onAcked({ batchId: id, index: e.index, term: e.term, offset, records: batch.readInt32BE(57) });
      stats.acked++;
      trace.add(12, n.id, id, e.index, offset);
    },
    snapshot(n, index, nextOffset, kind) {
      checker.onOffsetAt(n.id, index, nextOffset, `${kind} snapshot`);
      if (kind === 'install') stats.snapshotsInstalled++;
      trace.add(17, n.id, index, nextOffset);
    },
    powerLoss(n) {
      stats.tornCrashes++;
      crashNode(n, 2);
    },
  };

  const start = async (n: SegmentNode, withFaults: boolean): Promise<void> => {
    restartAt.delete(n.id);
    // Power may fail again during recovery itself (while it cuts a torn tail, rewrites indexes, ...).
    if (withFaults && faults() < o.recoveryCrashRate) n.fs.armCrash(1 + Math.floor(faults() * 6));
    try {
      await n.start(IDS, mulberry32((seed * 31 + n.id * 1009 + n.life * 7919) >>> 0), hooks);
      stats.restarts++;
      trace.add(13, n.id, n.life, n.log?.lastIndex() ?? -1, n.log?.logEndOffset() ?? -1);
    } catch (err) {
      if (isSimPowerLoss(err)) {
        stats.recoveryCrashes++;
        crashNode(n, 4);
        return;
      }
      // Only crashes are injected, never corruption: recovery must always succeed.
      checker.fail('recovery', `node ${n.id} failed to reopen after a crash: ${String(err)}`);
    }
  };

  const propose = (): void => {
    const leaders = nodes.filter((n) => n.core?.role === 'leader');
    const leader = leaders.sort((a, b) => b.core!.term - a.core!.term)[0];
    if (leader?.core === undefined) return;
    const batchId = nextBatchId++;
    const records = 1 + Math.floor(faults() * 3);
    const batch = encodeRecordBatch(
      Array.from({ length: records }, (_, k) => ({
        key: `k${k}`,
        value: k === 0 ? `batch-${batchId}` : `batch-${batchId}-r${k}`,
      })),
      { baseTimestamp: clock.nowMs() },
    );
    const r = leader.core.propose(batch);
    stats.proposed++;
    if (r.ok && 'firstIndex' in r && o.sabotage === 'ack-before-commit') {
      // The offset the leader's store will stamp: its end offset plus the batches it holds unwritten.
      const offset = leader.log!.logEndOffset() + leader.unsavedRecords;
      leader.unsavedRecords += records;
      checker.onAcked({ batchId, index: r.firstIndex, term: r.term, offset, records });
      stats.acked++;
    } else if (r.ok && 'firstIndex' in r) {
      leader.pending.set(r.firstIndex, { batchId, term: r.term });
      trace.add(14, leader.id, batchId, r.firstIndex, r.term);
    }
  };

  const step = async (withFaults: boolean): Promise<void> => {
    now++;
    if (withFaults) {
      const live = nodes.filter((n) => n.alive);
      const pick = live[Math.floor(faults() * live.length)];
      if (pick !== undefined && faults() < o.crashRate) {
        stats.crashes++;
        crashNode(pick, 1);
      } else if (pick !== undefined && faults() < o.tornCrashRate) {
        pick.fs.armCrash(1 + Math.floor(faults() * 8));
        trace.add(15, pick.id);
      }
      if (faults() < o.groupCrashRate) {
        stats.groupCrashes++;
        for (const n of nodes) if (n.alive) crashNode(n, 3);
      }
      if (faults() < o.partitionRate) {
        const id = IDS[Math.floor(faults() * IDS.length)]!;
        net.isolate(id, IDS);
        trace.add(16, id);
      }
      if (faults() < o.healRate) net.healAll();
    }
    for (const n of nodes) {
      const at = restartAt.get(n.id);
      if (!n.alive && at !== undefined && at <= now) await start(n, withFaults);
    }
    for (const m of net.due(now)) {
      const to = nodes[m.to - 1];
      if (to?.core === undefined) continue;
      trace.add(MSG_TYPES.indexOf(m.type), m.from, m.to, m.index, m.term);
      to.core.step(m);
    }
    for (const n of nodes) {
      if (n.core === undefined) continue;
      const q = quietTick(n.core, (peer) => heard(peer, n.id), false);
      if (q === 'quiesced') stats.quiesces++;
      else if (q === 'woke') stats.silentPeerWakes++;
    }
    if (withFaults && faults() < o.proposeRate) propose();
    for (const n of nodes) await n.drain(hooks);
  };

  let error: string | undefined;
  try {
    for (const n of nodes) await start(n, false);
    for (let s = 0; s < o.faultSteps && checker.violation === undefined; s++) await step(true);
    // Heal: no more faults, every link restored, every dead node back (and any armed crash disarmed).
    net.healAll();
    net.faults = { dropRate: 0, duplicateRate: 0, minDelay: 1, maxDelay: 1 };
    for (const n of nodes) {
      n.fs.armCrash(0);
      if (!n.alive && checker.violation === undefined) await start(n, false);
    }
    for (let s = 0; s < o.convergeSteps && checker.violation === undefined; s++) {
      await step(false);
      if (converged(nodes)) {
        stats.convergedAfterSteps = s + 1;
        break;
      }
    }
    if (checker.violation === undefined && stats.convergedAfterSteps < 0) {
      error = `convergence: no agreement ${o.convergeSteps} steps after healing (${describeNodes(nodes)})`;
    }
    if (checker.violation === undefined && error === undefined) {
      const final = new Map<NodeId, FinalNodeState>();
      for (const n of nodes) {
        const log = n.log!;
        final.set(n.id, {
          firstIndex: log.firstIndex(),
          entries: await allEntries(log),
          startOffset: log.logStartOffset(),
          endOffset: log.logEndOffset(),
          data: await readData(log),
        });
      }
      checker.checkFinal(final);
      const ref = nodes[0]!.log!;
      stats.lastIndex = ref.lastIndex();
      stats.endOffset = ref.logEndOffset();
      stats.segments = ref.stats().segments;
    }
  } catch (err) {
    error = `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  }
  const violation = checker.violation?.message ?? error;
  return {
    seed,
    ok: violation === undefined,
    ...(violation === undefined ? {} : { violation }),
    traceHash: trace.hex(),
    stats,
  };
}
