/**
 * The broker side of DeleteRecords without a broker: which offset a request asks for (Kafka's rules), and
 * which topics refuse it whatever the offset (internal ones, compact-only ones), per partition.
 */
import { describe, expect, it } from 'vitest';
import type { ServedPartition, TopicInfo } from '../../src/broker/catalog.js';
import { logStartTarget } from '../../src/broker/delete-records.js';
import type { HandlerContext } from '../../src/broker/handlers/context.js';
import { handleDeleteRecords } from '../../src/broker/handlers/delete-records.js';
import { codeFromWire } from '../../src/errors/index.js';
import { catalogServing } from '../helpers/catalog-stub.js';

const ask = (offset: number) => ({ topic: 't', partition: 0, offset });
const log = { highWatermark: 100, logStartOffset: 20 };

describe('logStartTarget', () => {
  it('-1 is the high watermark; up to it is the offset; at or below the log start changes nothing', () => {
    expect(logStartTarget(ask(-1), log)).toBe(100);
    expect(logStartTarget(ask(100), log)).toBe(100);
    expect(logStartTarget(ask(21), log)).toBe(21);
    expect(logStartTarget(ask(20), log)).toBeUndefined();
    expect(logStartTarget(ask(3), log)).toBeUndefined();
  });

  it('above the high watermark is OFFSET_OUT_OF_RANGE', () => {
    expect(() => logStartTarget(ask(101), log)).toThrow(
      expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }),
    );
  });
});

describe('handleDeleteRecords', () => {
  const topicInfo = (name: string, internal: boolean): TopicInfo => ({
    name,
    partitions: 1,
    replicationFactor: 1,
    internal,
    configs: {},
    incarnation: 1,
  });

  it('refuses internal and compact-only topics per partition, and asks the catalog for the others', async () => {
    const asked: string[] = [];
    const catalog = catalogServing({} as ServedPartition, {
      topic: (name) => topicInfo(name, name.startsWith('__')),
      describeConfigs: (r) => [
        { key: 'cleanup_policy', value: r.name === 'keys' ? 'compact' : 'compact,delete', source: 'topic' },
      ],
      deleteRecords: async ({ topic, offset }) => {
        asked.push(topic);
        return offset;
      },
    });
    const ctx = { catalog, observer: {} } as unknown as HandlerContext;
    const res = await handleDeleteRecords(
      ctx,
      {
        partitions: [
          { topic: '__consumer_offsets', partition: 0, offset: 5 },
          { topic: 'keys', partition: 0, offset: 5 },
          { topic: 'both', partition: 0, offset: 5 },
        ],
        timeoutMs: 1000,
      },
      { clientId: 'test', clientHost: '127.0.4.9' } as never,
    );
    expect(
      res.partitions.map((p) => [p.topic, p.error && codeFromWire(p.error.code), p.lowWatermark]),
    ).toEqual([
      ['__consumer_offsets', 'INVALID_REQUEST', -1],
      ['keys', 'INVALID_REQUEST', -1],
      ['both', null, 5],
    ]);
    expect(asked).toEqual(['both']);
  });
});
