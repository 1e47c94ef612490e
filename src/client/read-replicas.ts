/**
 * Where a consumer with a rack (`clientRack`, Kafka's client.rack) reads each partition: fetch from followers
 * (Kafka's KIP-392). Its fetches carry the rack; a partition's leader answers with `preferredReadReplica`,
 * an in-sync replica in that rack, and the consumer fetches the partition there from then on, as Kafka's
 * consumer keeps its preferred read replica (SubscriptionState): until that replica answers anything but
 * data (a follower out of sync or no longer a replica answers NOT_LEADER; any error, OFFSET_OUT_OF_RANGE
 * included, is the leader's to decide), the fetch fails or goes unanswered, metadata no longer lists it
 * in sync, or `expireAfterMs` (metadata's maximum age, as Kafka's metadata.max.age.ms) passes. Then the
 * leader is asked again, and it names a replica again or serves the partition itself.
 */
export class ReadReplicas {
  private readonly chosen = new Map<string, { readonly brokerId: number; readonly untilMs: number }>();

  constructor(
    private readonly expireAfterMs: number,
    private readonly nowMs: () => number,
  ) {}

  /** The leader named `brokerId` as the replica to read the partition from. */
  note(topic: string, partition: number, brokerId: number): void {
    this.chosen.set(key(topic, partition), { brokerId, untilMs: this.nowMs() + this.expireAfterMs });
  }

  /**
   * The replica to read the partition from, or undefined for its leader: none was named, it expired, or
   * `isr` (the partition's in-sync replicas in the client's metadata) no longer lists it.
   */
  replicaFor(topic: string, partition: number, isr: readonly number[] | undefined): number | undefined {
    if (this.chosen.size === 0) return undefined; // no rack, or nothing named: no key built
    const k = key(topic, partition);
    const chosen = this.chosen.get(k);
    if (chosen === undefined) return undefined;
    if (this.nowMs() >= chosen.untilMs || isr?.includes(chosen.brokerId) !== true) {
      this.chosen.delete(k);
      return undefined;
    }
    return chosen.brokerId;
  }

  /** Back to the leader for this partition (its replica failed it). */
  forget(topic: string, partition: number): void {
    this.chosen.delete(key(topic, partition));
  }
}

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}
