/**
 * TLS of the client listener (broker.tls.*): the files are read once, at start, and a certificate and key that
 * do not load stop the start with the key and the file named, rather than fail every client's handshake.
 * Certificates are not reloaded while the broker runs: a renewed certificate takes a rolling restart.
 *
 * The same files serve this broker's health probes of the other brokers' client listeners (broker-probe.ts):
 * it trusts broker.tls.ca_file and presents its own certificate, which a broker requiring client
 * certificates (all of a cluster share the TLS settings) then accepts.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { ClientTlsOptions } from '../client/connection-tls.js';
import type { ServerTlsConfig } from '../config/types.js';
import { StreamBusError } from '../errors/index.js';

/** How long a connection may take over its handshake before it is dropped (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface ListenerTls {
  /** For tls.createServer. */
  readonly server: TlsOptions;
  /** For this broker's probes of the other brokers' client listeners. */
  readonly probe: ClientTlsOptions;
}

export function loadListenerTls(config: ServerTlsConfig): ListenerTls {
  const cert = readPem('broker.tls.cert_file', config.certFile);
  const key = readPem('broker.tls.key_file', config.keyFile);
  const ca = config.caFile === null ? undefined : readPem('broker.tls.ca_file', config.caFile);
  try {
    createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
  } catch (err) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'broker.tls',
      cause: err,
      message: `broker.tls: the certificate ${config.certFile}, key ${config.keyFile}${ca === undefined ? '' : ` or CA ${config.caFile}`} do not load: ${(err as Error).message}`,
    });
  }
  const required = config.clientAuth === 'required';
  return {
    server: {
      cert,
      key,
      ...(ca === undefined ? {} : { ca }),
      requestCert: required,
      rejectUnauthorized: required,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    },
    probe: { cert, key, ...(ca === undefined ? {} : { ca }) },
  };
}

function readPem(key: string, path: string | null): Buffer {
  if (path === null) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'broker.tls',
      message: `${key}: required when broker.tls.enabled is true`,
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
