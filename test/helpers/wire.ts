/** Small helpers for tests that talk to a broker through the SDK's raw `Connection.request`. */
import { Connection } from '../../src/client/connection.js';
import { codeFromWire, type ErrorCode, StreamBusError } from '../../src/errors/index.js';
import { ApiKey } from '../../src/protocol/index.js';
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

/**
 * Creates `topic` (one partition), produces `values` to it with acks=all and fetches them back from offset
 * 0; fails the test if any step answers an error. Returns the fetched record bytes.
 */
export async function createProduceFetch(
  conn: Connection,
  topic: string,
  values: readonly string[],
): Promise<Buffer> {
  const created = await conn.request(ApiKey.CreateTopics, {
    topics: [{ name: topic, partitions: 1, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  if (created.topics[0]?.error) throw new Error(`create ${topic}: ${created.topics[0].error.message}`);
  const produced = await conn.request(ApiKey.Produce, {
    acks: -1,
    timeoutMs: 5_000,
    partitions: [{ topic, partition: 0, records: batchOf(values) }],
  });
  if (produced.partitions[0]?.error) throw new Error(`produce: ${produced.partitions[0].error.message}`);
  const fetched = await conn.request(ApiKey.Fetch, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    partitions: [{ topic, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
  });
  if (fetched.partitions[0]?.error) throw new Error(`fetch: ${fetched.partitions[0].error.message}`);
  return fetched.partitions[0]?.records ?? Buffer.alloc(0);
}
