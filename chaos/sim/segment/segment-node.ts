/**
 * One simulated partition replica: the pure Raft core over a ReplicatedLog (the segment log is the Raft
 * log) on the node's own SimStorageFs. The driver follows the etcd order for each Ready: persist entries,
 * hard state and snapshot (`save(update, mustSync)`, awaited), then send, then apply, then advance.
 */
import { type Entry, type Message, type NodeId, RaftCore } from '../../../src/raft/core/index.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../../src/storage/config.js';
import { decodePartitionSnapshot, encodePartitionSnapshot } from '../../../src/storage/partition-store.js';
import { ReplicatedLog } from '../../../src/storage/replicated-log.js';
import type { StorageLogger } from '../../../src/storage/types.js';
import { OffsetTracker } from './segment-checker.js';
import { isSimPowerLoss, SimStorageFs, type SimStorageFsOptions } from './sim-storage-fs.js';

export interface SegmentNodeOptions {
  readonly electionTimeoutTicks: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  readonly log: Partial<LogConfig>;
  readonly fs: SimStorageFsOptions;
  /**
   * Take a state-machine snapshot (the partition's next offset) every this many applied entries and then
   * apply retention up to it, so lagging followers need InstallSnapshot. 0 disables both.
   */
  readonly snapshotEveryEntries: number;
  /** Storage log lines (replays of a failing seed); silent by default. */
  readonly logger?: StorageLogger;
}

export interface SegmentNodeHooks {
  send(m: Message): void;
  /** The node became leader in `term`. */
  leader(node: SegmentNode, term: number): void;
  applied(node: SegmentNode, e: Entry): void;
  /** The node's state machine now starts from a snapshot (restart, install or a local one). */
  snapshot(node: SegmentNode, index: number, nextOffset: number, kind: 'open' | 'install' | 'local'): void;
  /** The storage lost power part-way through a save: the node is dead until restarted. */
  powerLoss(node: SegmentNode): void;
}

/** Deep copy: a real network serializes, and the store stamps batches in place. */
export function copyMessage(m: Message): Message {
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })),
    ...(m.snapshot === undefined
      ? {}
      : { snapshot: { metadata: m.snapshot.metadata, data: Buffer.from(m.snapshot.data) } }),
  };
}

export class SegmentNode {
  readonly fs: SimStorageFs;
  readonly dir: string;
  log: ReplicatedLog | undefined;
  core: RaftCore | undefined;
  /** Incremented on every start: per-life state (offset tracker, pending proposals) is reset. */
  life = 0;
  offsets = new OffsetTracker();
  appliedIndex = 0;
  /** Records proposed since the last drain (only the 'ack-before-commit' sabotage uses it). */
  unsavedRecords = 0;
  private lastSnapshotIndex = 0;
  /** Proposals accepted by this node as leader in this life: index -> (batch id, term). */
  readonly pending = new Map<number, { batchId: number; term: number }>();
  private readonly config: LogConfig;

  constructor(
    readonly id: NodeId,
    private readonly opts: SegmentNodeOptions,
    private readonly clock: { nowMs(): number },
  ) {
    this.fs = new SimStorageFs(opts.fs);
    this.dir = `/sim/node-${id}`;
    this.config = { ...DEFAULT_LOG_CONFIG, ...opts.log };
  }

  get alive(): boolean {
    return this.core !== undefined;
  }

  /** Opens the log from whatever survived (recovery) and starts a fresh core on it. Throws what open throws. */
  async start(voters: readonly NodeId[], random: () => number, hooks: SegmentNodeHooks): Promise<void> {
    this.life++;
    this.offsets = new OffsetTracker();
    this.pending.clear();
    const log = await ReplicatedLog.open(this.dir, this.config, {
      clock: this.clock,
      fs: this.fs,
      bootstrapVoters: voters,
      ...(this.opts.logger === undefined ? {} : { logger: this.opts.logger }),
    });
    this.log = log;
    const snap = log.snapshot();
    this.lastSnapshotIndex = snap.metadata.index;
    this.appliedIndex = Math.max(log.firstIndex() - 1, snap.metadata.index);
    if (snap.metadata.index > 0) {
      this.offsets.nextOffset = decodePartitionSnapshot(snap.data).nextOffset;
      hooks.snapshot(this, snap.metadata.index, this.offsets.nextOffset, 'open');
    }
    this.core = new RaftCore({
      id: this.id,
      storage: log,
      random,
      electionTimeoutTicks: this.opts.electionTimeoutTicks,
      heartbeatIntervalTicks: 1,
      // Idle groups go quiet, as partition groups do (quietTick, as RaftNode ticks them).
      quiesce: true,
      maxSizePerMsgBytes: this.opts.maxSizePerMsgBytes,
      maxInflightMsgs: this.opts.maxInflightMsgs,
    });
  }

  /** Power loss: the store object is abandoned (never closed: closing would fsync). */
  crash(random: () => number): void {
    this.fs.crash(random);
    this.log = undefined;
    this.core = undefined;
  }

  /** Drains every Ready; returns false if the node lost power. */
  async drain(hooks: SegmentNodeHooks): Promise<void> {
    for (;;) {
      const core = this.core;
      const log = this.log;
      if (core === undefined || log === undefined) return;
      // Power may have gone during a background write of the store (zeros ahead of the segment end).
      if (this.fs.poweredOff) {
        hooks.powerLoss(this);
        return;
      }
      const rd = core.ready();
      if (rd === null) return;
      if (rd.softState?.role === 'leader') hooks.leader(this, core.term);
      // As a broker's replica does: a leader writes through the page cache, others around it.
      if (rd.softState !== undefined) log.cacheWrites(rd.softState.role === 'leader');
      this.unsavedRecords = 0;
      // As the broker's ReadyHandler: committed entries already durable here are applied before the write.
      const early = core.committedHeldDurably(rd);
      for (let i = 0; i < early; i++) this.apply(rd.committedEntries[i]!, hooks);
      try {
        await log.save(
          {
            entries: rd.entries,
            ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
            ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
          },
          rd.mustSync,
        );
      } catch (err) {
        if (!isSimPowerLoss(err)) throw err;
        hooks.powerLoss(this);
        return;
      }
      for (const m of rd.messages) hooks.send(copyMessage(m));
      if (rd.snapshot !== undefined) {
        const m = rd.snapshot.metadata;
        this.offsets.nextOffset = decodePartitionSnapshot(rd.snapshot.data).nextOffset;
        this.appliedIndex = m.index;
        this.lastSnapshotIndex = m.index;
        hooks.snapshot(this, m.index, this.offsets.nextOffset, 'install');
      }
      for (let i = early; i < rd.committedEntries.length; i++) this.apply(rd.committedEntries[i]!, hooks);
      core.advance(rd);
      const last = rd.committedEntries[rd.committedEntries.length - 1];
      if (last !== undefined) log.setAppliedIndex(last.index);
      if (!(await this.maybeSnapshot(core, log, hooks))) return;
    }
  }

  private apply(e: Entry, hooks: SegmentNodeHooks): void {
    hooks.applied(this, e);
    this.appliedIndex = e.index;
  }

  /** A local snapshot and retention up to it (like RaftNode with snapshotKeepEntries 0). False on power loss. */
  private async maybeSnapshot(core: RaftCore, log: ReplicatedLog, hooks: SegmentNodeHooks): Promise<boolean> {
    const every = this.opts.snapshotEveryEntries;
    if (every <= 0 || this.appliedIndex - this.lastSnapshotIndex < every) return true;
    const index = this.appliedIndex;
    const term = log.term(index);
    const confState = core.appliedConfState();
    if (typeof term !== 'number' || confState === undefined) return true;
    const data = encodePartitionSnapshot(this.offsets.nextOffset, new Uint8Array(0));
    try {
      await log.saveSnapshot({ metadata: { index, term, confState }, data }, index);
      this.lastSnapshotIndex = index;
      hooks.snapshot(this, index, this.offsets.nextOffset, 'local');
      await log.applyRetention({ floorIndex: index, nowMs: this.clock.nowMs() });
    } catch (err) {
      if (!isSimPowerLoss(err)) throw err;
      hooks.powerLoss(this);
      return false;
    }
    return true;
  }
}
