/**
 * A userspace TCP proxy in front of a broker (this kernel has no netem). Healthy, it forwards bytes as they
 * come. With faults set it delays every chunk (order kept per direction), holds a fraction of chunks for a
 * retransmission timeout (what a lost segment costs a TCP stream: it is late, never missing) and resets a
 * fraction of connections (what a flaky path eventually does). Faults apply to every connection, or only to
 * connections from one source address (a proxy between brokers slowing one peer's connections, not all).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ProxyFaults {
  delayMs: number;
  jitterMs: number;
  /** Probability per chunk of a retransmission stall. */
  lossRate: number;
  retransmitMs: number;
  /** Probability per chunk of resetting the connection. */
  resetRate: number;
}

export interface TcpProxyOptions {
  listenHost: string;
  listenPort?: number;
  targetHost: string;
  targetPort: number;
  /**
   * The local address the proxy dials the target from (default: the kernel's choice, 127.0.0.1 on loopback).
   * A proxy between brokers dials from its broker's own address so partition rules see its traffic as that
   * broker's.
   */
  localAddress?: string;
  random: () => number;
}

export class TcpProxy {
  private server: Server | null = null;
  private faults: ProxyFaults | null = null;
  /** Faults for connections from one source host, used when `faults` (all connections) is null. */
  private readonly faultsBySource = new Map<string, ProxyFaults>();
  private readonly sockets = new Set<Socket>();
  port = 0;
  targetPort: number;
  /** Connections accepted and bytes forwarded (both directions) since start: proof traffic went through. */
  connectionsAccepted = 0;
  bytesForwarded = 0;

  constructor(private readonly o: TcpProxyOptions) {
    this.targetPort = o.targetPort;
  }

  get address(): string {
    return `${this.o.listenHost}:${this.port}`;
  }

  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.listenPort ?? 0, this.o.listenHost, () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return this.port;
  }

  /**
   * Faults on every connection (null: pass-through), or with `sourceHost` only on connections from that
   * address (null: that source's back to pass-through). Takes effect from the next chunk, also on open
   * connections.
   */
  setFaults(faults: ProxyFaults | null, sourceHost?: string): void {
    if (sourceHost === undefined) this.faults = faults;
    else if (faults === null) this.faultsBySource.delete(sourceHost);
    else this.faultsBySource.set(sourceHost, faults);
  }

  /** Every connection back to pass-through, whichever way its faults were set. */
  heal(): void {
    this.faults = null;
    this.faultsBySource.clear();
  }

  /** Drops every open connection (clients reconnect through the proxy). */
  resetAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.resetAll();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = connect({
      host: this.o.targetHost,
      port: this.targetPort,
      ...(this.o.localAddress === undefined ? {} : { localAddress: this.o.localAddress }),
    });
    this.connectionsAccepted += 1;
    this.sockets.add(client);
    this.sockets.add(upstream);
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
    const source = client.remoteAddress ?? '';
    const faults = (): ProxyFaults | null => this.faults ?? this.faultsBySource.get(source) ?? null;
    this.pipe(client, upstream, faults, teardown);
    this.pipe(upstream, client, faults, teardown);
  }

  private pipe(from: Socket, to: Socket, faults: () => ProxyFaults | null, teardown: () => void): void {
    // One FIFO and one timer per direction: chunks leave strictly in arrival order (a TCP stream is ordered;
    // separate timers per chunk would not guarantee it).
    const queue: { chunk: Buffer | null; releaseAtMs: number }[] = [];
    let releaseAtMs = 0;
    let timer: NodeJS.Timeout | null = null;
    const pump = (): void => {
      timer = null;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.releaseAtMs <= now) {
        const { chunk } = queue.shift()!;
        if (to.destroyed) return;
        if (chunk === null) to.end();
        else to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, Math.max(1, queue[0]!.releaseAtMs - now));
    };
    const enqueue = (chunk: Buffer | null, delayMs: number): void => {
      // Later chunks never overtake earlier ones.
      releaseAtMs = Math.max(releaseAtMs, performance.now() + delayMs);
      queue.push({ chunk, releaseAtMs });
      if (timer === null) timer = setTimeout(pump, Math.max(0, releaseAtMs - performance.now()));
    };
    from.on('data', (chunk: Buffer) => {
      this.bytesForwarded += chunk.length;
      const f = faults();
      if (f === null && queue.length === 0) {
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        return;
      }
      const random = this.o.random;
      if (f !== null && random() < f.resetRate) return teardown();
      let delayMs = f === null ? 0 : f.delayMs + random() * f.jitterMs;
      if (f !== null && random() < f.lossRate) delayMs += f.retransmitMs;
      enqueue(chunk, delayMs);
    });
    from.on('end', () => {
      if (queue.length === 0) to.end();
      else enqueue(null, 0);
    });
    from.on('close', () => {
      if (timer !== null) clearTimeout(timer);
    });
  }
}
