/**
 * The broker's TLS (broker.tls.*, cluster.peer_tls): its certificate files are read at start, where a
 * certificate and key that do not load stop the start with the key and the file named rather than fail every
 * handshake, and again when they change while the broker runs (tls-reload.ts).
 *
 * One certificate serves three roles: the client listener's (broker.tls.enabled); this broker's identity
 * when its health checker probes the other brokers' client listeners (it trusts broker.tls.ca_file and
 * presents its own certificate, which a broker requiring client certificates then accepts: the brokers of a
 * cluster share their TLS settings); and, with cluster.peer_tls, both ends of the Raft peer link, where each
 * side checks the other's certificate against broker.tls.ca_file.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { ClientTlsOptions } from '../client/connection-tls.js';
import type { BrokerConfig, ServerTlsConfig } from '../config/types.js';
import { StreamBusError } from '../errors/index.js';
import { type PeerTls, TLS_HANDSHAKE_TIMEOUT_MS } from '../raft/transport/peer-sockets.js';

export interface ListenerTls {
  /** For tls.createServer. */
  readonly server: TlsOptions;
  /** For this broker's probes of the other brokers' client listeners. */
  readonly probe: ClientTlsOptions;
}

export interface BrokerTls {
  /** The client listener's TLS, or null: plain TCP. */
  readonly listener: ListenerTls | null;
  /** The peer link's mutual TLS, or null: plain TCP. */
  readonly peer: PeerTls | null;
}

/** The listener's and peer link's TLS from the files, read and checked now (at start; tls-reload.ts). */
export function loadBrokerTls(config: BrokerConfig): BrokerTls {
  const tls = config.broker.tls;
  const peerTls = config.cluster.enabled && config.cluster.peerTls;
  if (!tls.enabled && !peerTls) return { listener: null, peer: null };
  // The peer link is mutual TLS: it needs the CA even where the client listener does not.
  const files = readTlsFiles(tls, tls.enabled ? 'broker.tls.enabled' : 'cluster.peer_tls', peerTls);
  return { listener: tls.enabled ? listenerTls(tls, files) : null, peer: peerTls ? files : null };
}

type TlsFiles = { cert: Buffer; key: Buffer; ca?: Buffer };

/** Reads the certificate, key and (when set, or `caRequired`) CA, and checks Node can use them together. */
function readTlsFiles(tls: ServerTlsConfig, why: string, caRequired: boolean): TlsFiles {
  const cert = readPem('broker.tls.cert_file', tls.certFile, why);
  const key = readPem('broker.tls.key_file', tls.keyFile, why);
  const files: TlsFiles =
    tls.caFile === null && !caRequired
      ? { cert, key }
      : { cert, key, ca: readPem('broker.tls.ca_file', tls.caFile, 'cluster.peer_tls') };
  checkLoads(tls, files);
  return files;
}

function listenerTls(tls: ServerTlsConfig, files: TlsFiles): ListenerTls {
  const required = tls.clientAuth === 'required';
  return {
    server: {
      ...files,
      requestCert: required,
      rejectUnauthorized: required,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    },
    probe: files,
  };
}

/** A certificate, key and CA that Node cannot use together stop here, naming the files. */
function checkLoads(tls: ServerTlsConfig, files: TlsFiles): void {
  try {
    createSecureContext(files);
  } catch (err) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'broker.tls',
      cause: err,
      message: `broker.tls: the certificate ${tls.certFile}, key ${tls.keyFile}${files.ca === undefined ? '' : ` or CA ${tls.caFile}`} do not load: ${(err as Error).message}`,
    });
  }
}

function readPem(key: string, path: string | null, why: string): Buffer {
  if (path === null) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'broker.tls',
      message: `${key}: required when ${why} is true`,
    });
  }
  try {
    return readFileSync(path);
  } catch (err) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'broker.tls',
      cause: err,
      message: `${key}: cannot read ${path}: ${(err as Error).message}`,
    });
  }
}
