/**
 * Partition leaders named by NOT_LEADER answers (the answering replica's Raft view), ahead of metadata:
 * a new leader publishes itself through the metadata leader, which a slow network or a busy cluster can
 * hold up for seconds, and meanwhile metadata names a broker that only follows. Kafka's clients do the same
 * with KIP-951's current-leader field. A hint holds while the metadata's leader epoch for the partition is
 * the one it was noted against (or older); a newer epoch is a newer decision, and metadata wins again.
 */
export class LeaderHints {
  private readonly hints = new Map<string, { readonly leaderId: number; readonly epoch: number }>();

  /** `leaderId` leads, says a broker, while metadata showed `epoch` for the partition. */
  note(topic: string, partition: number, leaderId: number, epoch: number): void {
    this.hints.set(key(topic, partition), { leaderId, epoch });
  }

  /** The hinted leader while metadata is still at `epoch` or older; forgets a hint that metadata passed. */
  leaderFor(topic: string, partition: number, epoch: number): number | undefined {
    if (this.hints.size === 0) return undefined; // the usual case, asked once per batch sent: no key built
    const k = key(topic, partition);
    const hint = this.hints.get(k);
    if (hint === undefined) return undefined;
    if (epoch > hint.epoch) {
      this.hints.delete(k);
      return undefined;
    }
    return hint.leaderId;
  }
}

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}
