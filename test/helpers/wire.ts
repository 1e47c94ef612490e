/** Small helpers for tests that talk to a broker through the SDK's raw `Connection.request`. */
import { Connection } from '../../src/client/connection.js';
import { codeFromWire, type ErrorCode, StreamBusError } from '../../src/errors/index.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';

export function connectTo(b: { host: string; port: number }): Promise<Connection> {
  return Connection.connect({ host: b.host, port: b.port, clientId: 'broker-test' });
}

/** The catalogue code of a body-level error entry, or null for success. */
export function codeOf(error: { code: number } | null): ErrorCode | null {
  return error === null ? null : codeFromWire(error.code);
}

/** The code a whole request failed with (the SDK rejects with a StreamBusError). */
export async function rejectionCode(p: Promise<unknown>): Promise<ErrorCode> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StreamBusError) return err.code;
    throw err;
  }
  throw new Error('expected the request to fail, it succeeded');
}

/** One batch of string values, timestamped `baseTimestamp`. */
export function batchOf(values: readonly string[], baseTimestamp = Date.now()): Buffer {
  return encodeRecordBatch(
    values.map((v) => ({ value: v })),
    { baseTimestamp },
  );
}
