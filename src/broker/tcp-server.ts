/**
 * The client listener: accepts sockets up to the connection limit and gives each to a BrokerConnection.
 * Over the limit a socket is closed at once (the client sees a closed connection and backs off).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions, type Server as TlsServer } from 'node:tls';
import { acceptReading, eventReading } from '../protocol/socket-io.js';
import {
  BrokerConnection,
  type ConnectionLimits,
  type ConnectionObserver,
  type FrameRouter,
} from './connection.js';

export interface TcpServerOptions {
  host: string;
  port: number;
  connectionsMax: number;
  limits: ConnectionLimits;
  router: FrameRouter;
  /** Serve TLS (broker-tls.ts); absent: plain TCP. */
  tls?: TlsOptions;
  observer: ConnectionObserver & {
    onConnectionOpened?(): void;
    onConnectionRejected?(remote: string): void;
    /** A client whose TLS handshake failed (it was dropped before any request). */
    onHandshakeFailed?(remote: string, err: Error): void;
  };
}

export class BrokerTcpServer {
  private readonly server: Server;
  private readonly connections = new Set<BrokerConnection>();
  private nextConnectionId = 1;

  constructor(private readonly options: TcpServerOptions) {
    if (options.tls === undefined) {
      // Paused: acceptReading() moves each socket's handle before anything is read (protocol/socket-io.ts).
      this.server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
      return;
    }
    // A TLS socket is handed over once its handshake is done, and reads through its 'data' events.
    const server = createTlsServer({ ...options.tls, noDelay: true }, (socket) => this.accept(socket));
    server.on('tlsClientError', (err, socket) => {
      this.options.observer.onHandshakeFailed?.(`${socket.remoteAddress}:${socket.remotePort}`, err);
    });
    this.server = server;
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address === null || typeof address === 'string') throw new Error('tcp server has no address');
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /** New TLS options for connections accepted from now on (tls-reload.ts); open ones keep theirs. */
  setTls(tls: TlsOptions): void {
    (this.server as TlsServer).setSecureContext(tls);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting; existing connections stay open until drained. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Answers every request already received on every connection, then ends them and waits until each has
   * closed (the client has read its answers and closed its end), as server.close() would for sockets it
   * still counted.
   */
  async drainConnections(): Promise<void> {
    const connections = [...this.connections];
    await Promise.all(connections.map((c) => c.drain()));
    for (const c of connections) c.end();
    await Promise.all(connections.map((c) => c.closedPromise));
  }

  destroyConnections(): void {
    for (const c of this.connections) c.destroy();
  }

  private accept(accepted: Socket): void {
    if (this.connections.size >= this.options.connectionsMax) {
      this.options.observer.onConnectionRejected?.(`${accepted.remoteAddress}:${accepted.remotePort}`);
      accepted.destroy();
      return;
    }
    const { socket, onBytes } =
      this.options.tls === undefined ? acceptReading(accepted) : eventReading(accepted);
    const observer: ConnectionObserver = {
      ...this.options.observer,
      onClosed: (info) => {
        this.connections.delete(connection);
        this.options.observer.onClosed?.(info);
      },
    };
    const connection = new BrokerConnection(
      this.nextConnectionId++,
      socket,
      this.options.router,
      this.options.limits,
      observer,
      onBytes,
    );
    this.connections.add(connection);
    this.options.observer.onConnectionOpened?.();
  }
}
