/**
 * Using a client, producer or consumer after close() is the caller's mistake (Kafka throws
 * IllegalStateException): it fails with CLIENT_CLOSED, which is not retriable, so a retry loop that decides
 * by isRetriable() stops instead of spinning forever. A broker closing a connection stays
 * CONNECTION_CLOSED, retriable: trying again on a new connection can work.
 */
import { describe, expect, it } from 'vitest';
import { isRetriable, StreamBusError } from '../../src/errors/index.js';
import { createClient } from '../../src/index.js';

/** Never connected to: every call below fails before any request is sent. */
const NOWHERE = '127.0.2.1:9';

async function rejection(work: Promise<unknown>): Promise<StreamBusError> {
  const err = await work.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(err instanceof StreamBusError)) throw err;
  return err;
}

function thrown(work: () => unknown): StreamBusError {
  try {
    work();
  } catch (err) {
    if (err instanceof StreamBusError) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('a closed client', () => {
  it('producer.send() after producer.close() fails with CLIENT_CLOSED, not retriable', async () => {
    const client = createClient({ bootstrap: NOWHERE });
    const producer = client.producer();
    await producer.close();
    const err = await rejection(producer.send({ topic: 't', messages: [{ value: 'v' }] }));
    expect(err).toMatchObject({ code: 'CLIENT_CLOSED', category: 'invalid_input' });
    expect(isRetriable(err)).toBe(false);
    await client.close();
  });

  it('consumer.poll() after consumer.close() fails with CLIENT_CLOSED, not retriable', async () => {
    const client = createClient({ bootstrap: NOWHERE });
    const consumer = client.consumer();
    await consumer.close();
    const err = await rejection(consumer.poll());
    expect(err).toMatchObject({ code: 'CLIENT_CLOSED', operation: 'consumer.poll' });
    expect(isRetriable(err)).toBe(false);
    await client.close();
  });

  it('admin calls after client.close() fail with CLIENT_CLOSED, not retriable', async () => {
    const client = createClient({ bootstrap: NOWHERE });
    const admin = client.admin();
    await client.close();
    for (const call of [() => admin.listTopics(), () => admin.describeCluster()]) {
      const err = await rejection(call());
      expect(err.code).toBe('CLIENT_CLOSED');
      expect(isRetriable(err)).toBe(false);
    }
  });

  it('making a producer, consumer or admin after client.close() throws CLIENT_CLOSED', async () => {
    const client = createClient({ bootstrap: NOWHERE });
    await client.close();
    for (const make of [() => client.producer(), () => client.consumer(), () => client.admin()]) {
      const err = thrown(make);
      expect(err.code).toBe('CLIENT_CLOSED');
      expect(isRetriable(err)).toBe(false);
    }
  });

  it('a broker closing the connection stays CONNECTION_CLOSED, retriable', () => {
    expect(isRetriable(new StreamBusError('CONNECTION_CLOSED', { operation: 'connection' }))).toBe(true);
  });
});
