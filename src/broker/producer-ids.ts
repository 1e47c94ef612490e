/**
 * Producer ids for idempotent producers: unique across the cluster, never handed out twice, not even
 * after a restart. A broker reserves a block of ids at a time from a durable source (the metadata store in
 * cluster mode, a file in the data dir on a single node) and hands them out from memory; ids left in its
 * block when it stops are simply never used, which is what makes a restart safe without any flush.
 */
import { invariant } from '../errors/index.js';
import type { Deadline } from '../resilience/deadline.js';

/** Where blocks come from. A block, once answered, is durably reserved: it is never answered again. */
export interface ProducerIdBlockSource {
  /** Reserves `count` consecutive ids and resolves with the first. */
  nextBlock(count: number): Promise<number>;
}

export const PRODUCER_ID_BLOCK_SIZE = 1000;

export interface ProducerIdAllocatorOptions {
  /** Ids reserved per trip to the source. Default 1000. */
  readonly blockSize?: number;
}

/**
 * Hands out ids from the current block and fetches the next when it runs out. One fetch at a time: callers
 * that find the block empty wait for the same fetch, then take ids from the new block synchronously, so two
 * concurrent requests can never get the same id.
 */
export class ProducerIdAllocator {
  private readonly blockSize: number;
  private next = 0;
  private end = 0;
  private refill: Promise<void> | null = null;

  constructor(
    private readonly source: ProducerIdBlockSource,
    options: ProducerIdAllocatorOptions = {},
  ) {
    this.blockSize = options.blockSize ?? PRODUCER_ID_BLOCK_SIZE;
    invariant(
      Number.isSafeInteger(this.blockSize) && this.blockSize > 0,
      'producer id block size must be a positive integer',
    );
  }

  /**
   * A producer id never returned before by any allocator of the cluster. `deadline` (the request's) ends this
   * caller's wait for a new block; the fetch goes on and serves the callers after it.
   */
  async allocate(deadline?: Deadline): Promise<number> {
    for (;;) {
      // No await between the check and the increment: this is the serialisation point.
      if (this.next < this.end) return this.next++;
      this.refill ??= this.fetchBlock().finally(() => {
        this.refill = null;
      });
      await (deadline === undefined ? this.refill : deadline.race(this.refill));
    }
  }

  private async fetchBlock(): Promise<void> {
    const first = await this.source.nextBlock(this.blockSize);
    // Blocks only move forward: a source answering an older range would hand out ids twice.
    invariant(
      Number.isSafeInteger(first) && first >= 1 && first >= this.end,
      () => `producer id block starts at ${first}, before the end of the previous block (${this.end})`,
    );
    this.next = first;
    this.end = first + this.blockSize;
  }
}
