/**
 * Keeps a partition's appends in the order they arrived although checking one may wait: a gzip batch is
 * inflated on the thread pool to check its size (records-check.ts), and a request behind it, checked at
 * once, would otherwise be written first. A client's pipelined produce requests must land in the order
 * sent, as on a Kafka broker, which handles one request of a connection at a time.
 *
 * Only the step up to starting the write is serialized (checks, then handing the batches to the writer or
 * to Raft); waiting for the write to be durable is not, so appends still share group commits. A step
 * therefore returns its write's promise wrapped (`{ written }`): returned bare, the chain would wait for it.
 */
export class ArrivalOrder {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `step` once every step started before it has ended (fulfilled or not); resolves with its result. */
  run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.tail.then(step);
    this.tail = result.then(noop, noop);
    return result;
  }
}

function noop(): void {}
