import type { NodeId } from '../core/types.js';
import type { Envelope, RaftTransport } from './types.js';

type Handler = (from: NodeId, envelopes: readonly Envelope[]) => void;

/**
 * An in-process network for tests: every node gets a MemoryTransport from the hub; links can be cut
 * one-way or both ways. Delivery is asynchronous (setImmediate) like a socket, never re-entrant.
 */
export class MemoryHub {
  private readonly handlers = new Map<NodeId, Handler>();
  private readonly cut = new Set<string>();
  /** Drops single messages it matches on links that are not cut (a link that loses appends but not heartbeats). */
  dropWhere: ((from: NodeId, to: NodeId, envelope: Envelope) => boolean) | null = null;
  delivered = 0;
  dropped = 0;

  transport(id: NodeId): MemoryTransport {
    return new MemoryTransport(id, this);
  }

  register(id: NodeId, handler: Handler): void {
    this.handlers.set(id, handler);
  }

  unregister(id: NodeId): void {
    this.handlers.delete(id);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Cuts every link to and from `id`. */
  isolate(id: NodeId): void {
    for (const other of this.handlers.keys()) {
      if (other === id) continue;
      this.cutLink(id, other);
      this.cutLink(other, id);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Whether `from` is on the hub and its link to `to` is not cut. */
  reaches(from: NodeId, to: NodeId): boolean {
    return this.handlers.has(from) && !this.cut.has(`${from}>${to}`);
  }

  deliver(from: NodeId, to: NodeId, envelopes: readonly Envelope[]): void {
    setImmediate(() => {
      const h = this.handlers.get(to);
      if (h === undefined || this.cut.has(`${from}>${to}`)) {
        this.dropped += envelopes.length;
        return;
      }
      const drop = this.dropWhere;
      const kept = drop === null ? envelopes : envelopes.filter((e) => !drop(from, to, e));
      this.dropped += envelopes.length - kept.length;
      this.delivered += kept.length;
      if (kept.length > 0) h(from, kept);
    });
  }
}

export class MemoryTransport implements RaftTransport {
  private closed = false;

  constructor(
    readonly id: NodeId,
    private readonly hub: MemoryHub,
  ) {}

  send(to: NodeId, envelopes: readonly Envelope[]): void {
    if (this.closed || envelopes.length === 0) return;
    this.hub.deliver(this.id, to, envelopes);
  }

  onMessage(handler: Handler): void {
    this.hub.register(this.id, handler);
  }

  /** A peer on the hub whose link to this node is not cut is heard from at once (no clock here). */
  heardFromWithin(peer: NodeId, _ms: number): boolean {
    return !this.closed && this.hub.reaches(peer, this.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.unregister(this.id);
  }
}
