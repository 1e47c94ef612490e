import type { NodeId } from './types.js';

interface ReadIndexStatus {
  readonly from: NodeId;
  readonly context: Uint8Array;
  /** The leader's commit index when the request arrived. */
  readonly index: number;
  readonly acks: Set<NodeId>;
}

function keyOf(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * Read-index requests waiting for a quorum of heartbeat acknowledgements (Raft dissertation §6.4): once a
 * majority confirms this leader is still the leader, reads at the recorded commit index are linearizable.
 * Requests complete in arrival order; an ack for a later request confirms every earlier one too.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, from: NodeId, context: Uint8Array): void {
    const key = keyOf(context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { from, context, index, acks: new Set() });
    this.queue.push(key);
  }

  recvAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const st = this.pending.get(keyOf(context));
    if (st === undefined) return undefined;
    st.acks.add(from);
    return st.acks;
  }

  /** Removes and returns every request up to and including `context`. */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = keyOf(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1).map((k) => this.pending.get(k)!);
    for (const k of this.queue.slice(0, at + 1)) this.pending.delete(k);
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  lastPendingContext(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.pending.get(k)?.context;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
