import { StreamBusError } from '../errors/index.js';
import type { NodeId } from '../raft/core/types.js';
import type { Clock, Timers } from '../resilience/clock.js';
import { Deadline } from '../resilience/deadline.js';
import type { ApplyResult } from './types.js';

/**
 * Carries a proposal from a follower to the metadata leader. The real one is an inter-broker RPC (comes
 * with the broker wiring); it must hand `commandBytes` unchanged to the leader's
 * `MetadataStore.handleForwarded` and bring back its result (or its error, as a StreamBusError with the
 * same code). A leader that cannot be reached is a NETWORK_ERROR, BROKER_NOT_AVAILABLE or
 * CONNECTION_CLOSED: the store then waits for the leader to come back or change.
 */
export interface MetadataForwarder {
  /**
   * `deadline` bounds the wait for the answer, and its remaining time travels with the proposal: the leader
   * side never works on it past the asker's deadline (the remaining time shrinks across the hop).
   */
  forward(leaderId: NodeId, commandBytes: Uint8Array, deadline: Deadline): Promise<ApplyResult>;
}

/**
 * Forwards to `leaderId` for as long as this node still names it leader (`currentLeader`, looked at every
 * `pollMs`): once a new leader is elected, or none is known, the forward is abandoned with NETWORK_ERROR so
 * the caller tries the new one. A leader that stopped answering without closing its connection (a paused
 * process, a cut link) would otherwise hold every write, heartbeats and partition leadership included, for
 * the caller's whole budget after its successor took over. Re-sending is safe: the command's request id
 * gets the first result back if the old leader did commit it.
 */
export async function forwardWhileLeader(
  forwarder: MetadataForwarder,
  leaderId: NodeId,
  commandBytes: Uint8Array,
  deadline: Deadline,
  watch: {
    readonly currentLeader: () => NodeId;
    readonly pollMs: number;
    readonly clock: Clock;
    readonly timers: Timers;
  },
): Promise<ApplyResult> {
  const moved = new AbortController();
  const onEnd = (): void => moved.abort(deadline.signal.reason);
  deadline.signal.addEventListener('abort', onEnd, { once: true });
  const hop = Deadline.fromTimeout(deadline.remainingMs(), {
    clock: watch.clock,
    timers: watch.timers,
    operation: deadline.operation ?? 'metadata.forward',
    parent: moved.signal,
  });
  let timer = watch.timers.setTimeout(check, watch.pollMs);
  function check(): void {
    if (watch.currentLeader() !== leaderId) {
      moved.abort(
        new StreamBusError('NETWORK_ERROR', {
          operation: 'metadata.forward',
          message: `metadata leader ${leaderId} was replaced while a write was forwarded to it`,
        }),
      );
      return;
    }
    timer = watch.timers.setTimeout(check, watch.pollMs);
  }
  try {
    return await forwarder.forward(leaderId, commandBytes, hop);
  } finally {
    watch.timers.clearTimeout(timer);
    deadline.signal.removeEventListener('abort', onEnd);
    hop.dispose();
  }
}

/** What a forwarder delivers to: the leader side of `MetadataStore`. */
export interface ForwardTarget {
  handleForwarded(commandBytes: Uint8Array, deadline?: Deadline): Promise<ApplyResult>;
}

/**
 * The in-process forwarder for tests (beside the real one, as MemoryTransport is beside TcpTransport):
 * calls the leader's store directly; `isolate` makes a node unreachable as a network partition would.
 */
export class MemoryForwarder implements MetadataForwarder {
  private readonly targets = new Map<NodeId, ForwardTarget>();
  private readonly isolated = new Set<NodeId>();
  /** Which node is forwarding: set per store via `forNode`. */
  private constructor(
    private readonly from: NodeId,
    private readonly shared: MemoryForwarder | undefined,
  ) {}

  static create(): MemoryForwarder {
    return new MemoryForwarder(0, undefined);
  }

  /** The forwarder a given node's store uses (so partitions can be checked from both ends). */
  forNode(id: NodeId): MemoryForwarder {
    return new MemoryForwarder(id, this.root());
  }

  register(id: NodeId, target: ForwardTarget): void {
    this.root().targets.set(id, target);
  }

  unregister(id: NodeId): void {
    this.root().targets.delete(id);
  }

  isolate(id: NodeId): void {
    this.root().isolated.add(id);
  }

  heal(): void {
    this.root().isolated.clear();
  }

  async forward(leaderId: NodeId, commandBytes: Uint8Array, deadline: Deadline): Promise<ApplyResult> {
    const root = this.root();
    const target = root.targets.get(leaderId);
    if (target === undefined || root.isolated.has(leaderId) || root.isolated.has(this.from)) {
      throw new StreamBusError('NETWORK_ERROR', {
        operation: 'metadata.forward',
        message: `metadata leader ${leaderId} is unreachable from ${this.from}`,
      });
    }
    // Copy: a real RPC never shares the buffer with the sender. The leader side gets its own deadline, as
    // over the wire (a child: never later than the asker's); the asker stops waiting at its own, as it does
    // for an answer that never comes over the wire.
    const remote = deadline.child(undefined, 'metadata.forwarded');
    try {
      return await deadline.race(target.handleForwarded(new Uint8Array(commandBytes), remote));
    } finally {
      remote.dispose();
    }
  }

  private root(): MemoryForwarder {
    return this.shared ?? this;
  }
}
