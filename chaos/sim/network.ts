import type { Message, NodeId } from '../../src/raft/core/index.js';

export interface NetworkFaults {
  /** Probability a message is lost. */
  dropRate: number;
  /** Probability a message is delivered twice. */
  duplicateRate: number;
  /** Delivery delay is uniform in [minDelay, maxDelay] time units; a spread reorders messages. */
  minDelay: number;
  maxDelay: number;
}

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly msg: Message;
}

/**
 * A seeded network between simulated nodes. Directed links can be cut (a one-way partition cuts one
 * direction only); messages on a cut link are lost at send time and at delivery time, like a real
 * partition that also swallows what was already on the wire.
 */
export class SimNetwork {
  faults: NetworkFaults;
  private queue: InFlight[] = [];
  private seq = 0;
  private readonly cut = new Set<string>();
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly random: () => number,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  private key(from: NodeId, to: NodeId): string {
    return `${from}>${to}`;
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(this.key(from, to));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(this.key(from, to));
  }

  /** Splits nodes into two sides that cannot talk in either direction. */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.cutLink(a, b);
        this.cutLink(b, a);
      }
    }
  }

  isolate(node: NodeId, all: readonly NodeId[]): void {
    this.partition(
      [node],
      all.filter((n) => n !== node),
    );
  }

  healAll(): void {
    this.cut.clear();
  }

  hasCuts(): boolean {
    return this.cut.size > 0;
  }

  send(now: number, msg: Message): void {
    this.sent++;
    if (this.isCut(msg.from, msg.to) || this.random() < this.faults.dropRate) {
      this.dropped++;
      return;
    }
    const copies = this.random() < this.faults.duplicateRate ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++) {
      const span = this.faults.maxDelay - this.faults.minDelay + 1;
      const at = now + this.faults.minDelay + Math.floor(this.random() * span);
      this.queue.push({ at, seq: this.seq++, msg });
    }
  }

  /** Removes and returns the messages due at or before `now`, in delivery order. */
  due(now: number): Message[] {
    if (this.queue.length === 0) return [];
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.queue) (f.at <= now ? ready : rest).push(f);
    if (ready.length === 0) return [];
    this.queue = rest;
    ready.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const out: Message[] = [];
    for (const f of ready) {
      if (this.isCut(f.msg.from, f.msg.to)) this.dropped++;
      else out.push(f.msg);
    }
    return out;
  }

  pending(): number {
    return this.queue.length;
  }
}
