import { invariant } from '../errors/index.js';
import type { Envelope } from './codec.js';
import { isStopNotice, stopNotice } from './core/messages.js';
import type { NodeId } from './core/types.js';
import { RaftNode, type RaftNodeOptions } from './node.js';
import type { RaftTransport } from './transport/types.js';

export type HostedGroupOptions = Omit<
  RaftNodeOptions,
  'id' | 'groupId' | 'transport' | 'mode' | 'tickIntervalMs'
>;

/** A tick at least this late counts as a stall of this process (as the TCP transport's liveness check). */
const OWN_STALL_MIN_MS = 100;

export interface RaftHostOptions {
  readonly nodeId: NodeId;
  readonly transport: RaftTransport;
  readonly tickIntervalMs?: number;
  /**
   * A quiet group (RaftCore.quiesce) wakes when a member's process has been silent this long; default one
   * election timeout at the default 10 ticks. The transport's keepalives (every 250 ms on an idle
   * connection) keep a live peer well inside it.
   */
  readonly quietPeerSilenceMs?: number;
  /** This process's monotonic clock, to notice its own stalls; default performance.now (tests inject one). */
  readonly monotonicNowMs?: () => number;
  /**
   * Asked once per tick: whether an awake leader of a group that may go quiet may do so now. The broker says
   * no until the cluster's feature level includes quiescence (an older follower would ignore the quiet flag
   * and elect a new leader when heartbeats stop). Default: yes.
   */
  readonly mayQuiesce?: () => boolean;
}

/**
 * Runs many Raft groups in one process (one per partition plus the metadata group): one ticker and one
 * transport for all of them. Incoming envelopes are routed by group id; because every group's messages
 * for a peer are queued in the same event-loop turn, the transport sends them in one frame.
 */
export class RaftHost {
  private readonly groups = new Map<string, RaftNode>();
  private ticker: NodeJS.Timeout | undefined;
  readonly tickIntervalMs: number;
  private readonly quietPeerSilenceMs: number;
  /** When the last tick ran (performance.now(): this process's own clock, for its own lateness). */
  private lastTickAtMs: number | undefined;

  constructor(private readonly opts: RaftHostOptions) {
    this.tickIntervalMs = opts.tickIntervalMs ?? 100;
    this.quietPeerSilenceMs = opts.quietPeerSilenceMs ?? 10 * this.tickIntervalMs;
    opts.transport.onMessage((_from, envs) => {
      let notices: Envelope[] | undefined;
      for (const env of envs) {
        const g = this.groups.get(env.groupId);
        if (g !== undefined && !g.stopped) {
          g.receive(env.message);
          continue;
        }
        // The group is not (or no longer) here: say so, or a quiet member of it could wait on this one for
        // good (a stop notice of its own may have been lost). Never in answer to a notice.
        const m = env.message;
        if (isStopNotice(m) || m.to !== opts.nodeId) continue;
        notices ??= [];
        notices.push({ groupId: env.groupId, message: stopNotice(opts.nodeId, m.from) });
      }
      for (const n of notices ?? []) opts.transport.send(n.message.to, [n]);
    });
    opts.transport.onPeerLost?.((peer) => {
      for (const g of this.groups.values()) g.peerLost(peer);
    });
  }

  /** Creates and starts a group on this host's ticker and transport. */
  async addGroup(groupId: string, options: HostedGroupOptions): Promise<RaftNode> {
    const node = this.createGroup(groupId, options);
    try {
      await node.start();
    } catch (err) {
      this.groups.delete(groupId);
      throw err;
    }
    return node;
  }

  /**
   * Creates a group on this host without starting it, for callers that wire listeners first; it neither
   * ticks nor receives until `start()` (both are no-ops before).
   */
  createGroup(groupId: string, options: HostedGroupOptions): RaftNode {
    invariant(!this.groups.has(groupId), `raft group ${groupId} already exists on this host`);
    const node = new RaftNode({
      ...options,
      quiesce: options.quiesce === true && this.opts.transport.heardFromWithin !== undefined,
      id: this.opts.nodeId,
      groupId,
      transport: this.opts.transport,
      mode: 'hosted',
      tickIntervalMs: this.tickIntervalMs,
    });
    this.groups.set(groupId, node);
    if (this.ticker === undefined) {
      this.ticker = setInterval(() => this.tick(), this.tickIntervalMs);
    }
    return node;
  }

  /** Ticks every group; those that may go quiet also learn which members' processes are heard from. */
  private tick(): void {
    const at = (this.opts.monotonicNowMs ?? performance.now.bind(performance))();
    const lateMs = this.lastTickAtMs === undefined ? 0 : at - this.lastTickAtMs - this.tickIntervalMs;
    this.lastTickAtMs = at;
    // A tick this late means this process's event loop was blocked (a GC pause, CPU starvation): the peers'
    // bytes from meanwhile are still unread, so their silence is this process's own. Judge no peer now (quiet
    // groups wait, none goes quiet); by the next tick the sockets have been read.
    const isLive = lateMs >= OWN_STALL_MIN_MS ? undefined : this.livenessThisTick();
    const mayQuiesce = this.opts.mayQuiesce?.() ?? true;
    for (const g of this.groups.values()) g.tick(isLive, mayQuiesce);
  }

  /** `transport.heardFromWithin` for this tick, asked once per peer (many groups share each peer). */
  private livenessThisTick(): ((peer: NodeId) => boolean) | undefined {
    const transport = this.opts.transport;
    if (transport.heardFromWithin === undefined) return undefined;
    const heard = transport.heardFromWithin.bind(transport);
    const known = new Map<NodeId, boolean>();
    return (peer) => {
      let live = known.get(peer);
      if (live === undefined) {
        live = heard(peer, this.quietPeerSilenceMs);
        known.set(peer, live);
      }
      return live;
    };
  }

  /** Groups on this host that are quiet (RaftCore.quiesce); a gauge of how many idle partitions cost nothing. */
  quiescedGroups(): number {
    let n = 0;
    for (const g of this.groups.values()) if (g.quiesced && !g.stopped) n++;
    return n;
  }

  group(groupId: string): RaftNode | undefined {
    return this.groups.get(groupId);
  }

  async removeGroup(groupId: string): Promise<void> {
    const node = this.groups.get(groupId);
    if (node === undefined) return;
    this.groups.delete(groupId);
    await node.stop();
  }

  /** Stops every group; the transport and the groups' storage stay the caller's to close. */
  async stop(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    await Promise.all([...this.groups.values()].map((g) => g.stop()));
    this.groups.clear();
  }
}
