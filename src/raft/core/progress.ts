/**
 * What the leader knows about one follower, and the flow control that bounds what it sends.
 *
 * - probe: we do not know where the follower's log matches; send one append per heartbeat interval and
 *   wait for the answer (a rejection walks `next` back using the follower's hint).
 * - replicate: the follower is matching; stream appends optimistically, bounded by in-flight limits.
 * - snapshot: the follower needs a snapshot; send nothing else until it reports having applied it.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A bounded window of in-flight append messages, by count and by bytes. */
export class Inflights {
  private readonly queue: { index: number; bytes: number }[] = [];
  private bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  add(lastIndex: number, bytes: number): void {
    this.queue.push({ index: lastIndex, bytes });
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= `index` (the follower acknowledged it). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.index <= index) {
      this.bytes -= this.queue[n]!.bytes;
      n++;
    }
    if (n > 0) this.queue.splice(0, n);
  }

  /** Frees the oldest slot: used when appends may have been lost and the window would never drain. */
  freeFirst(): void {
    const first = this.queue.shift();
    if (first !== undefined) this.bytes -= first.bytes;
  }

  full(): boolean {
    return this.queue.length >= this.maxMessages || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.queue.length;
  }

  reset(): void {
    this.queue.length = 0;
    this.bytes = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding, wait for a response or the next heartbeat. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** In snapshot state: ticks since the snapshot was sent (a lost snapshot is retried). */
  snapshotElapsedTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotElapsedTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records an acknowledged index; returns whether it moved `match` forward. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * The follower reports that its log ends at `lastIndex`, below `match` (follower.ts, its heartbeat answer):
   * it lost what it acknowledged. Forget `match` and probe from where its log ends. A report that is not
   * below `match` is older than an acknowledgement since received, and ignored.
   */
  lostLog(lastIndex: number): void {
    if (lastIndex >= this.match) return;
    this.match = 0;
    this.resetState('probe');
    this.next = lastIndex + 1;
  }

  /** Optimistically advances `next` after sending entries up to `lastIndex`. */
  sentEntries(lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex, bytes);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * A rejection for an append at `rejected`: move `next` back to just after the follower's hint.
   * Returns false for a stale rejection (one about an index we already moved past).
   *
   * A probe rejected at or below `match` says the follower no longer holds what it acknowledged: it came
   * back on an empty or rolled-back disk under the same id (docs/raft.md, "A follower that lost its log").
   * `match` is then forgotten and the probe continues from the hint. Keeping `match` (as etcd does) made
   * the leader resend the same rejected append at every answer, forever, and never replicate to it again.
   * A stale rejection read this way (only possible where messages are reordered) costs a resend from the
   * hint: lowering `match` is always safe, since the commit index never moves back.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    if (rejected <= this.match) this.match = 0;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
