/**
 * The fetch rounds a consumer has started ahead of poll(): read-ahead as librdkafka does it, bounded.
 *
 * Round k+1 asks for the offsets round k ended at, so rounds run one after another. The next starts as soon
 * as the previous one completes with data, not when the caller next polls: the broker and the network work
 * while the caller processes what it has, and a consumer that keeps up never waits a whole round trip. At
 * most `depth` rounds are held (each at most the consumer's maxBytes); a round that comes back empty (the
 * consumer has caught up) ends the chain, and the next poll() starts a fresh long poll.
 */
export interface RoundAhead<T> {
  readonly result: Promise<T>;
  settled: boolean;
}

export class RoundsAhead<T> {
  private queue: RoundAhead<T>[] = [];

  constructor(
    private readonly depth: number,
    private readonly start: () => Promise<T>,
    /** Whether a completed round is worth fetching beyond (it brought data). */
    private readonly brought: (result: T) => boolean,
  ) {}

  /** Rounds held: completed ones waiting for poll(), and at most one still running. */
  get size(): number {
    return this.queue.length;
  }

  /** The oldest round held (completed or running), removed from the queue; else one started now. */
  takeOrStart(): RoundAhead<T> {
    const held = this.queue.shift();
    if (held !== undefined) return held;
    const round: RoundAhead<T> = { result: this.start(), settled: false };
    void round.result.then(() => {
      round.settled = true;
    });
    return round;
  }

  /** Puts back a round from takeOrStart() that its caller stopped waiting for: it is the next one taken. */
  putBack(round: RoundAhead<T>): void {
    this.queue.unshift(round);
  }

  /** Forgets every round held; running ones finish unseen (the caller moved the offsets they would take). */
  clear(): void {
    this.queue = [];
  }

  /** Starts the next round, unless `depth` are held or the last one held is still running. */
  fill(): void {
    if (this.queue.length >= this.depth) return;
    const last = this.queue.at(-1);
    if (last !== undefined && !last.settled) return;
    const round: RoundAhead<T> = { result: this.start(), settled: false };
    this.queue.push(round);
    void round.result.then((result) => {
      round.settled = true;
      // A round taken by poll() or cleared by a seek no longer leads the chain.
      if (this.queue.at(-1) === round && this.brought(result)) this.fill();
    });
  }
}
