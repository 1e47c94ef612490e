/**
 * The producer's bound on buffered records (`bufferBytesMax`): bytes appended to batches and not yet
 * acknowledged or failed. A send() appending past it waits for room, which only a finished batch gives back.
 */
export class BufferSpace {
  private usedBytes = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly maxBytes: number) {}

  /**
   * Resolves once there is room, or once `stop()` holds: checked again each time room is given back, so a
   * send whose earlier records failed (their batch gave its room back) stops waiting at once.
   */
  async room(stop: () => boolean): Promise<void> {
    while (this.usedBytes >= this.maxBytes && !stop()) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  take(bytes: number): void {
    this.usedBytes += bytes;
  }

  /** Gives back room and wakes the sends waiting for it. */
  release(bytes: number): void {
    this.usedBytes -= bytes;
    const wake = this.waiters;
    this.waiters = [];
    for (const w of wake) w();
  }
}
