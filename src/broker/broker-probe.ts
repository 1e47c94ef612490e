/**
 * The broker health checker's ping: an ApiVersions request to a broker's client listener on a fresh
 * connection. It proves more than a heartbeat does (the heartbeat only shows the process can write to the
 * metadata leader): the client listener accepts, the event loop answers, requests go through the router.
 */
import { Connection } from '../client/connection.js';
import type { ClientTlsOptions } from '../client/connection-tls.js';
import type { HostPort } from '../metadata/types.js';
import { ApiKey } from '../protocol/index.js';

/** True when the broker answered within `timeoutMs` (connect included); never throws. */
export async function pingBroker(
  address: HostPort,
  timeoutMs: number,
  signal: AbortSignal,
  /** The probed listeners serve TLS (broker-tls.ts): how to connect. */
  tls?: ClientTlsOptions,
): Promise<boolean> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({
      host: address.host,
      port: address.port,
      clientId: 'streambus-health-checker',
      connectTimeoutMs: timeoutMs,
      requestTimeoutMs: timeoutMs,
      ...(tls === undefined ? {} : { tls }),
    });
    await connection.request(ApiKey.ApiVersions, {}, { signal: deadline });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
