/**
 * metrics.enabled false collects nothing on the data path (the overhead benchmark's "off" side): produce
 * and fetch through such a broker leave its registry's request, topic, fsync and connection series empty,
 * while the same requests through a broker with metrics on fill them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { connectTo, createProduceFetch } from '../helpers/wire.js';

let b: InProcessBroker | undefined;
afterEach(async () => {
  await b?.destroy();
  b = undefined;
});

/** The sample lines (not HELP/TYPE) of the data-path series this test cares about. */
async function dataPathSamples(broker: InProcessBroker): Promise<string[]> {
  const text = await broker.broker.metrics.text();
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .filter((l) =>
      /^streambus_(requests_total|produce_duration_seconds_count|fetch_duration_seconds_count|messages_in_total|bytes_in_total|log_fsync_duration_seconds_count|connections_active)\{/.test(
        l,
      ),
    )
    .filter((l) => !/ 0$/.test(l));
}

async function produceAndFetch(broker: InProcessBroker): Promise<void> {
  const conn = await connectTo(broker);
  try {
    expect((await createProduceFetch(conn, 'm', ['a', 'b', 'c'])).length).toBeGreaterThan(0);
  } finally {
    await conn.close();
  }
}

describe('metrics.enabled', () => {
  it('true: produce and fetch are counted', async () => {
    b = await startInProcessBroker({ 'metrics.enabled': true });
    await produceAndFetch(b);
    const samples = await dataPathSamples(b);
    for (const name of ['requests_total', 'produce_duration_seconds_count', 'messages_in_total']) {
      expect(samples.some((l) => l.startsWith(`streambus_${name}{`))).toBe(true);
    }
  });

  it('false: produce and fetch record nothing', async () => {
    b = await startInProcessBroker({ 'metrics.enabled': false });
    await produceAndFetch(b);
    expect(await dataPathSamples(b)).toEqual([]);
  });
});
