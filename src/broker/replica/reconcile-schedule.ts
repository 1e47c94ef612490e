/**
 * When a broker's replicas are reconciled with metadata, and how much: a full pass (open what is assigned
 * here, close what is not, steer every hosted replica) after most metadata changes, or just the steering of
 * the partitions whose leader or in-sync set changed. One pass runs at a time; changes meanwhile coalesce.
 * A pass over every hosted replica for each leader change made a broker taking back 1,000 leaderships after a
 * restart walk 1,000 replicas a thousand times.
 */
import type { MetadataChange } from '../../metadata/state-machine.js';

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface ReconcileWork {
  /** The full pass; a failure is the caller's to log and retry. */
  fullPass(): Promise<void>;
  /** Steers just these partitions' replicas; false (nothing done) when one needs a full pass. */
  steerPartitions(partitions: readonly PartitionRef[]): boolean;
  onFullPassError(err: unknown): void;
}

export class ReconcileSchedule {
  /** A full pass is due. */
  private fullDue = false;
  /** Partitions to steer again, when no full pass is due. */
  private readonly partitions = new Map<string, PartitionRef>();
  private running: Promise<void> | null = null;
  private stopped = false;
  /** The first full pass has finished (readiness waits for it). */
  firstPassDone = false;

  constructor(private readonly work: ReconcileWork) {}

  /** What an applied metadata change calls for: a full pass, some partitions steered, or nothing. */
  onMetadataChange(change: MetadataChange): void {
    // Broker heartbeats land in metadata several times a second and change nothing a replica depends on
    // (liveness moves through updateBroker): a pass over every hosted partition for each made an idle
    // broker's work grow with its partition count.
    if (change.kind === 'applied' && change.command.type === 'heartbeat') return;
    const changed = partitionsChangedBy(change);
    if (changed === undefined) this.full();
    else if (changed.length > 0) this.steer(changed);
  }

  full(): void {
    if (this.stopped) return;
    this.fullDue = true;
    this.kick();
  }

  steer(partitions: readonly PartitionRef[]): void {
    if (this.stopped) return;
    for (const p of partitions) this.partitions.set(`${p.topic}\u0000${p.partition}`, p);
    this.kick();
  }

  /** Resolves once no pass is pending or running. */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /** Nothing new starts; resolves once the pass under way (if any) ends. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private kick(): void {
    if (this.running !== null || this.stopped) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.fullDue || this.partitions.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while ((this.fullDue || this.partitions.size > 0) && !this.stopped) {
      if (!this.fullDue) {
        const partitions = [...this.partitions.values()];
        this.partitions.clear();
        if (this.work.steerPartitions(partitions)) continue;
        this.fullDue = true;
      }
      this.fullDue = false;
      this.partitions.clear(); // a full pass steers every replica
      try {
        await this.work.fullPass();
      } catch (err) {
        this.work.onFullPassError(err);
      }
      // A failed open does not hold readiness back for good: the pass tried every replica.
      this.firstPassDone = true;
    }
  }
}

/**
 * The partitions an applied command changed, when their leader or in-sync set is all it changed (updateLeader,
 * updateInSyncSets; one that failed changed nothing); undefined when it may have changed anything else.
 */
export function partitionsChangedBy(change: MetadataChange): PartitionRef[] | undefined {
  if (change.kind !== 'applied') return undefined;
  const { command, result } = change;
  if (command.type === 'updateLeader') {
    return result.ok ? [{ topic: command.topic, partition: command.partition }] : [];
  }
  if (command.type === 'updateInSyncSets') {
    if (!result.ok) return [];
    return command.items
      .filter((_, i) => result.inSyncSets?.[i]?.ok !== false)
      .map((item) => ({ topic: item.topic, partition: item.partition }));
  }
  return undefined;
}
