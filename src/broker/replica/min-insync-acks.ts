/**
 * acks=all under a min_insync_replicas above the Raft majority. A commit puts an entry on a majority of the
 * voters (2 of 3); Kafka's promise for acks=all is that an acknowledged write is on at least
 * min.insync.replicas replicas. So the leader, once the entry has committed, waits until that many voters
 * (itself included) acknowledged its Raft index (their match), within a bound; past it the answer is
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND, retriable, and the write stays in the log, as in Kafka: an idempotent
 * producer's retry is answered with the original offset once enough replicas hold it.
 *
 * The in-sync set (in-sync-set.ts) cannot decide this: it is time based, and a replica that died stays in
 * it for the lag time (10 s), during which a check of its size alone acknowledged writes on 2 copies.
 *
 * Event driven: a waiter is checked whenever a follower answers an append (RaftNode 'follower-ack'), and
 * the node is listened to only while someone waits.
 */

import { StreamBusError } from '../../errors/index.js';
import type { NodeId } from '../../raft/core/types.js';
import type { RaftNode } from '../../raft/node.js';

interface Waiter {
  readonly index: number;
  readonly required: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Whether a commit alone already puts an entry on `required` voters: a majority of `voters` is that many. */
export function commitHoldsEnough(required: number, voters: number): boolean {
  return required <= Math.floor(voters / 2) + 1;
}

export class MinInsyncAcks {
  private readonly waiters = new Set<Waiter>();
  private readonly onAck = (_from: NodeId): void => this.check();

  constructor(
    private readonly node: Pick<RaftNode, 'votersHolding' | 'on' | 'off'>,
    private readonly where: { readonly topic: string; readonly partition: number },
  ) {}

  /**
   * Resolves once `required` voters hold Raft `index`; rejects with NOT_ENOUGH_REPLICAS_AFTER_APPEND after
   * `timeoutMs`. The caller leads (the entry committed under it); losing leadership ends it (failAll).
   */
  wait(index: number, required: number, timeoutMs: number): Promise<void> {
    const holding = this.node.votersHolding(index);
    if (holding >= required) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        index,
        required,
        resolve,
        reject,
        timer: setTimeout(() => {
          const now = this.node.votersHolding(index);
          this.remove(waiter);
          if (now >= required) resolve();
          else reject(this.notEnough(now, required, timeoutMs));
        }, timeoutMs),
      };
      if (this.waiters.size === 0) this.node.on('follower-ack', this.onAck);
      this.waiters.add(waiter);
    });
  }

  /** Every waiter fails with `err`: this replica stopped leading, or closed. */
  failAll(err: unknown): void {
    for (const w of [...this.waiters]) {
      this.remove(w);
      w.reject(err);
    }
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (this.node.votersHolding(w.index) < w.required) continue;
      this.remove(w);
      w.resolve();
    }
  }

  private remove(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
    if (this.waiters.size === 0) this.node.off('follower-ack', this.onAck);
  }

  private notEnough(holding: number, required: number, timeoutMs: number): StreamBusError {
    const { topic, partition } = this.where;
    return new StreamBusError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', {
      operation: 'replica.append',
      message: `${topic}-${partition}: the write is in the log and committed, but only ${holding} replica(s) held it after ${timeoutMs} ms; min_insync_replicas is ${required}`,
      metadata: { topic, partition, holding, required },
    });
  }
}
