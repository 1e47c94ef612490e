/**
 * Keeps the local LogManager in step with the replicated metadata (cluster mode): this broker holds a local
 * log for exactly the topics in which it is a replica of some partition. Until partitions replicate (one
 * Raft group each, a later step) a partition's data lives only on its leader; the other replicas' logs
 * stay empty.
 *
 * A driver, not logic: it reacts to metadata changes (coalesced, never two passes at once), and a failed
 * pass is logged and tried again on the next change or after `retryIntervalMs`, never thrown.
 *
 * Deleting is the dangerous half: right after a restart the local metadata replica may still be behind
 * (it has not heard from the leader yet) and would look empty. So local topics missing from the metadata
 * are only deleted once a linearizable read has confirmed this replica has caught up; from then on the
 * replica only moves forward.
 */
import type { MetadataView } from '../metadata/state.js';
import type { TopicRecord } from '../metadata/types.js';
import type { Logger } from '../observability/index.js';
import type { TimerHandle, Timers } from '../resilience/index.js';
import type { LogManager } from '../storage/log-manager.js';
import { TOPIC_CONFIG_KEYS } from '../storage/topic-config.js';

export interface PartitionReconcilerDeps {
  readonly logs: LogManager;
  readonly brokerId: number;
  /** The local metadata replica's current image. */
  readonly view: () => MetadataView;
  /** Calls `listener` after every metadata change; returns the unsubscribe function. */
  readonly subscribe: (listener: () => void) => () => void;
  /** Resolves once the local replica holds every change committed before the call (read-index). */
  readonly catchUp: (signal: AbortSignal) => Promise<unknown>;
  readonly logger: Logger;
  readonly retryIntervalMs: number;
  readonly timers: Timers;
}

/** The configs a topic's local log gets: the cluster's topic-level defaults overlaid with its overrides. */
export function localTopicConfigs(view: MetadataView, topic: TopicRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(view.clusterConfig)) {
    if (TOPIC_CONFIG_KEYS.includes(key)) out[key] = value;
  }
  return { ...out, ...topic.configs };
}

export class PartitionReconciler {
  /** Topic -> the metadata createdVersion its local log belongs to (a recreated topic gets a fresh log). */
  private readonly hosted = new Map<string, number>();
  /** Topics whose partition count differs from the local log's, warned about once each. */
  private readonly mismatchWarned = new Set<string>();
  private readonly abort = new AbortController();
  private caughtUp = false;
  private dirty = false;
  private stopped = false;
  private running: Promise<void> | null = null;
  private catchingUp: Promise<void> | null = null;
  private retryTimer: TimerHandle | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: PartitionReconcilerDeps) {}

  start(): void {
    if (this.unsubscribe !== null || this.stopped) return;
    this.unsubscribe = this.deps.subscribe(() => this.schedule());
    this.catchingUp = this.catchUpLoop();
    this.schedule();
  }

  /** Stops reacting and waits for a pass in progress (call before the logs close). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.retryTimer !== null) this.deps.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.running;
    await this.catchingUp;
  }

  /** Whether this broker's local log of `topic` exists and belongs to the topic created at `createdVersion`. */
  hosts(topic: string, createdVersion: number): boolean {
    return this.hosted.get(topic) === createdVersion && this.deps.logs.topic(topic) !== undefined;
  }

  /** Whether local deletions are enabled (the metadata replica was confirmed current once). */
  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  /** Resolves once no pass is pending or running (tests and callers wanting read-your-writes locally). */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.running !== null) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      // A change that arrived between the loop's last check and here must not be lost.
      if (this.dirty) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    // One pass for a burst of applied entries rather than one per entry.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      try {
        await this.reconcileOnce();
      } catch (err) {
        this.deps.logger.error(
          { operation: 'reconcile', error: String(err), retry_in_ms: this.deps.retryIntervalMs },
          'partition reconcile failed; will retry',
        );
        this.retryLater();
      }
    }
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer !== null) return;
    this.retryTimer = this.deps.timers.setTimeout(() => {
      this.retryTimer = null;
      this.schedule();
    }, this.deps.retryIntervalMs);
  }

  private async catchUpLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.deps.catchUp(this.abort.signal);
        this.caughtUp = true;
        this.deps.logger.info({ operation: 'catch-up' }, 'metadata replica caught up; reconciling deletions');
        this.schedule();
        return;
      } catch (err) {
        if (this.stopped) return;
        this.deps.logger.warn(
          { operation: 'catch-up', error: String(err) },
          'metadata replica not confirmed current yet; local topic deletions wait',
        );
        await new Promise<void>((resolve) => {
          const timer = this.deps.timers.setTimeout(resolve, this.deps.retryIntervalMs);
          this.abort.signal.addEventListener(
            'abort',
            () => {
              this.deps.timers.clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    }
  }

  /** One pass over the current image; every action is tried, the first failure is rethrown at the end. */
  private async reconcileOnce(): Promise<void> {
    const view = this.deps.view();
    const { logs, brokerId, logger } = this.deps;
    const wanted = new Map<string, TopicRecord>();
    for (const t of view.topics.values()) {
      if (t.partitions.some((p) => p.replicas.includes(brokerId))) wanted.set(t.name, t);
    }
    const failures: unknown[] = [];
    const attempt = async (fn: () => Promise<void>): Promise<void> => {
      if (this.stopped) return;
      try {
        await fn();
      } catch (err) {
        failures.push(err);
      }
    };

    for (const t of wanted.values()) {
      await attempt(async () => {
        const local = logs.topic(t.name);
        const owner = this.hosted.get(t.name);
        if (local !== undefined && owner !== undefined && owner !== t.createdVersion) {
          // Deleted and created again while this broker was not looking: the old data must not be served.
          await this.remove(t.name, 'recreated in metadata', view.version);
        } else if (local !== undefined) {
          this.hosted.set(t.name, t.createdVersion);
          this.warnOnPartitionMismatch(t, local.partitions);
          return;
        }
        await logs.createTopic(t.name, t.partitions.length, localTopicConfigs(view, t));
        this.hosted.set(t.name, t.createdVersion);
        logger.info(
          {
            operation: 'reconcile',
            action: 'create',
            topic: t.name,
            partitions: t.partitions.length,
            led: t.partitions.filter((p) => p.leader === brokerId).map((p) => p.partition),
            metadata_version: view.version,
          },
          'local topic created from metadata',
        );
      });
    }

    for (const local of logs.listTopics()) {
      if (wanted.has(local.name)) continue;
      if (!this.caughtUp) continue; // see the header: a stale replica must not delete data
      await attempt(() =>
        this.remove(
          local.name,
          view.topics.has(local.name) ? 'no replica here' : 'not in metadata',
          view.version,
        ),
      );
    }
    if (failures.length > 0) throw failures[0];
  }

  private async remove(topic: string, reason: string, version: number): Promise<void> {
    await this.deps.logs.deleteTopic(topic);
    this.hosted.delete(topic);
    this.mismatchWarned.delete(topic);
    this.deps.logger.info(
      { operation: 'reconcile', action: 'delete', topic, reason, metadata_version: version },
      'local topic deleted to match metadata',
    );
  }

  /** Added partitions need a LogManager that can grow a topic (not there yet): serve what exists, say so. */
  private warnOnPartitionMismatch(t: TopicRecord, localPartitions: number): void {
    if (localPartitions === t.partitions.length || this.mismatchWarned.has(t.name)) return;
    this.mismatchWarned.add(t.name);
    this.deps.logger.warn(
      {
        operation: 'reconcile',
        topic: t.name,
        local_partitions: localPartitions,
        metadata_partitions: t.partitions.length,
      },
      'local topic has a different partition count than the metadata; extra partitions are not served',
    );
  }
}
