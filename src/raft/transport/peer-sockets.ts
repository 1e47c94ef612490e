/**
 * The peer link's sockets: plain TCP, or TLS when the cluster encrypts and authenticates it (cluster.peer_tls).
 * Under TLS both ends present a certificate and check the other's against the cluster's CA (mutual TLS): only
 * a broker of the cluster can open a Raft connection, and the hello's node id then comes from one of them.
 * Plain sockets read into the shared buffer (protocol/socket-io.ts); TLS sockets through 'data' events.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, connect as tlsConnect } from 'node:tls';
import { acceptReading, connectReading, eventReading, type ReadingSocket } from '../../protocol/socket-io.js';
import type { PeerAddress } from './peer.js';

/** What both ends present (cert, key) and trust (ca): the listener and every dial use the same files. */
export interface PeerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

/** How long a TLS handshake may take before the connection is dropped (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** A listener handing over each connection once it can be read (its handshake done, under TLS). */
export function peerServer(
  tls: PeerTls | null,
  onConnection: (connection: ReadingSocket) => void,
  onHandshakeFailed: (remote: string, err: Error) => void,
): Server {
  if (tls === null) {
    // Paused: acceptReading() moves each socket's handle before anything is read (protocol/socket-io.ts).
    return createServer({ pauseOnConnect: true }, (socket) => onConnection(acceptReading(socket)));
  }
  const server = createTlsServer(
    { ...tls, requestCert: true, rejectUnauthorized: true, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
    (socket) => onConnection(eventReading(socket)),
  );
  server.on('tlsClientError', (err, socket) => {
    onHandshakeFailed(`${socket.remoteAddress}:${socket.remotePort}`, err);
  });
  return server;
}

/**
 * Renewed files (tls-reload.ts) for the connections `server` accepts from now on; open ones keep theirs.
 * Only for a server peerServer() made with TLS: the link's protocol does not change while it runs.
 */
export function renewPeerServerTls(server: Server, tls: PeerTls): void {
  (server as TlsServer).setSecureContext({ ...tls });
}

export interface PeerDial extends ReadingSocket {
  /** The event after which the connection can carry frames: 'connect', or 'secureConnect' under TLS. */
  readonly ready: 'connect' | 'secureConnect';
}

/** Dials a peer from `localAddress` ('' for any). */
export function dialPeer(address: PeerAddress, localAddress: string, tls: PeerTls | null): PeerDial {
  const target = {
    host: address.host,
    port: address.port,
    ...(localAddress === '' ? {} : { localAddress }),
  };
  if (tls === null) return { ...connectReading(target), ready: 'connect' };
  // The TCP socket first, so the local address applies; the certificate must name the address dialled.
  const socket: Socket = tlsConnect({ socket: netConnect(target), host: address.host, ...tls });
  return { ...eventReading(socket), ready: 'secureConnect' };
}
