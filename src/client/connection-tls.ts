/**
 * TLS to brokers whose client listener serves it (broker.tls.enabled). The options are node:tls's, narrowed to
 * what a client of a broker needs: whom to trust, what to present, and what name to check.
 *
 * A handshake that fails on a certificate (not trusted, expired, wrong name, or refused by the broker for want
 * of a client certificate) is TLS_HANDSHAKE_FAILED, never retried: trying again meets the same certificates,
 * and a producer would otherwise retry it for its whole delivery timeout. A connection dropped during the
 * handshake stays a NETWORK_ERROR, as any connection dropped.
 */
import { type ConnectionOptions as NodeTlsOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';

export interface ClientTlsOptions {
  /** CA certificates (PEM) to trust instead of Node's bundled roots: the CA that signed the brokers' certificates. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and its key (PEM), for brokers with broker.tls.client_auth: required. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Check the broker's certificate (default true). Turning it off leaves the connection open to a man in the middle. */
  rejectUnauthorized?: boolean;
  /** The name the broker's certificate must carry, when not the host dialled (an address behind a proxy). */
  servername?: string;
}

/** Opens a TLS socket to host:port; it reads through 'data' events (TLS decrypts into buffers of its own). */
export function connectTls(host: string, port: number, options: ClientTlsOptions): TLSSocket {
  const tlsOptions: NodeTlsOptions = { host, port, ...options };
  return tlsConnect(tlsOptions);
}

/** OpenSSL's and Node's codes for a handshake refused over certificates (see the module comment). */
const CERTIFICATE_FAILURE = /CERT|SSL|UNABLE_TO_(GET|VERIFY)|SELF_SIGNED/;

export function isCertificateFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CERTIFICATE_FAILURE.test(code);
}
