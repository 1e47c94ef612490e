/**
 * Replica folders no replica will open again: a broker that was down (or restarted) while its replica was
 * moved away, or while its topic was deleted, never closed that replica, and closing is what removes a
 * replica's data. Kafka calls these stray replicas and removes them once the broker's metadata is current.
 *
 * Only a view known current may decide: the local metadata replica can lag (still replaying, or cut off), and
 * a folder judged stray on a stale view could be a replica metadata still assigns here. So the sweep runs
 * once, after a linearizable metadata read (Raft read index) at start, inside the replica manager's
 * serialized reconcile pass (no open or close runs meanwhile), and keeps every folder that metadata assigns
 * here or that is still open (a retiring replica).
 */
import type { MetadataView } from '../../metadata/state.js';
import type { Logger } from '../../observability/index.js';
import { sleep } from '../../resilience/clock.js';

export interface StraySweepDeps {
  /** Every replica folder on disk (absolute paths). */
  readonly listStoreDirs: () => Promise<string[]>;
  readonly removeStore: (dir: string) => Promise<void>;
  readonly metadata: { readLinearizable(): Promise<MetadataView> };
  /** Asks the replica manager for a reconcile pass (which calls sweepIfDue). */
  readonly schedule: () => void;
  /** Between attempts to confirm metadata current (default 2 s). */
  readonly retryIntervalMs?: number;
  readonly log: Logger;
}

export class StrayReplicaSweeper {
  /** Sweep once local metadata has reached this version (confirmed current); null: not (or no longer) due. */
  private dueAtVersion: number | null = null;
  /** Aborted by stop(): ends the wait between attempts at once. */
  private readonly stopping = new AbortController();

  constructor(private readonly deps: StraySweepDeps) {}

  /** Confirms metadata current (retrying), then asks for the reconcile pass that sweeps. */
  start(): void {
    void this.confirmCurrent();
  }

  stop(): void {
    this.stopping.abort();
  }

  /**
   * From the reconcile pass, with the version of the view it reconciled and the folders it keeps (assigned
   * here in that view, or open): removes every other replica folder, once. Returns the folders removed.
   */
  async sweepIfDue(version: number, keep: () => ReadonlySet<string>): Promise<string[]> {
    if (this.dueAtVersion === null || version < this.dueAtVersion) return [];
    this.dueAtVersion = null;
    const kept = keep();
    const stray = (await this.deps.listStoreDirs()).filter((dir) => !kept.has(dir));
    for (const dir of stray) {
      await this.deps.removeStore(dir);
      this.deps.log.warn(
        { operation: 'remove-stray', dir },
        'stray replica folder: data removed (metadata no longer assigns it here: moved away or its topic deleted while this broker was down)',
      );
    }
    return stray;
  }

  private async confirmCurrent(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        this.dueAtVersion = (await this.deps.metadata.readLinearizable()).version;
        this.deps.schedule();
        return;
      } catch (err) {
        this.deps.log.debug(
          { operation: 'remove-stray', error: String(err) },
          'metadata not confirmed current yet',
        );
        await sleep(this.deps.retryIntervalMs ?? 2_000, this.stopping.signal).catch(() => undefined);
      }
    }
  }
}
