import { StreamBusError } from '../errors/index.js';

interface Waiter {
  index: number;
  resolve(index: number): void;
  reject(err: Error): void;
}

/**
 * Linearizable reads in flight: each gets a unique context, waits for the core's ReadState (the leader's
 * commit index confirmed by a quorum), then for this node to apply up to that index.
 */
export class ReadWaiters {
  private nextId = 1;
  private readonly awaitingIndex = new Map<number, Waiter>();
  private awaitingApply: Waiter[] = [];

  /** A fresh context and the promise that settles for it. */
  begin(timeoutMs: number): { context: Uint8Array; promise: Promise<number> } {
    const id = this.nextId++;
    const context = new Uint8Array(8);
    new DataView(context.buffer).setFloat64(0, id);
    const promise = new Promise<number>((resolve, reject) => {
      const w: Waiter = {
        index: 0,
        resolve: (i) => {
          clearTimeout(timer);
          resolve(i);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.awaitingIndex.delete(id);
        this.awaitingApply = this.awaitingApply.filter((x) => x !== w);
        reject(
          new StreamBusError('REQUEST_TIMED_OUT', { operation: 'raft.read-index', metadata: { timeoutMs } }),
        );
      }, timeoutMs);
      this.awaitingIndex.set(id, w);
    });
    return { context, promise };
  }

  /** A request whose context never reached the core (refused): forget it. */
  cancel(context: Uint8Array, err: Error): void {
    const w = this.take(context);
    w?.reject(err);
  }

  onReadState(index: number, context: Uint8Array): void {
    const w = this.take(context);
    if (w === undefined) return;
    w.index = index;
    this.awaitingApply.push(w);
  }

  onApplied(appliedIndex: number): void {
    if (this.awaitingApply.length === 0) return;
    const ready = this.awaitingApply.filter((w) => w.index <= appliedIndex);
    if (ready.length === 0) return;
    this.awaitingApply = this.awaitingApply.filter((w) => w.index > appliedIndex);
    for (const w of ready) w.resolve(w.index);
  }

  rejectAll(err: Error): void {
    const all = [...this.awaitingIndex.values(), ...this.awaitingApply];
    this.awaitingIndex.clear();
    this.awaitingApply = [];
    for (const w of all) w.reject(err);
  }

  private take(context: Uint8Array): Waiter | undefined {
    if (context.byteLength !== 8) return undefined;
    const id = new DataView(context.buffer, context.byteOffset, 8).getFloat64(0);
    const w = this.awaitingIndex.get(id);
    this.awaitingIndex.delete(id);
    return w;
  }
}
