/**
 * A compacted topic keeps the latest record per key, so it refuses records without a key at append
 * (Kafka's CorruptRecordException / INVALID_RECORD), whatever the batch's compression; a delete-policy
 * topic takes them. Nothing of a refused append is written.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { encodeRecordBatch, type ProducerRecord } from '../../src/protocol/record-batch.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { config, tempDir as makeTempDir, openLog, type tempDir } from './helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
const logs: PartitionLog[] = [];

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await Promise.allSettled(logs.splice(0).map((l) => l.close()));
  await dir.cleanup();
});

function batch(records: ProducerRecord[], compression: 'none' | 'gzip' = 'none'): Buffer {
  return encodeRecordBatch(records, { baseTimestamp: 1_700_000_000_000, compression });
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isStreamBusError(err) ? err.code : String(err);
  }
}

describe('append to a compacted topic', () => {
  it('refuses a batch holding a record without a key, compressed or not, and writes none of the append', async () => {
    const log = await openLog(dir.path, { cleanupPolicy: 'compact' });
    logs.push(log);
    expect(await codeOf(log.append(batch([{ key: 'k', value: 'v' }, { value: 'no key' }])))).toBe(
      'INVALID_RECORD',
    );
    const keylessGzip = batch(
      [
        { key: 'k', value: 'v' },
        { key: null, value: 'x' },
      ],
      'gzip',
    );
    const good = batch([{ key: 'a', value: '1' }]);
    expect(await codeOf(log.append(Buffer.concat([good, keylessGzip])))).toBe('INVALID_RECORD');
    expect(log.logEndOffset()).toBe(0);
    expect(
      await log.append(
        batch(
          [
            { key: 'a', value: '1' },
            { key: 'b', value: null },
          ],
          'gzip',
        ),
      ),
    ).toMatchObject({
      baseOffset: 0,
      lastOffset: 1,
    });
  });

  it('takes keyless records under cleanup_policy delete, and refuses them once the topic turns compact', async () => {
    const log = await openLog(dir.path);
    logs.push(log);
    expect(await codeOf(log.append(batch([{ value: 'no key' }])))).toBeUndefined();
    log.reconfigure(config({ cleanupPolicy: 'compact,delete' }));
    expect(await codeOf(log.append(batch([{ value: 'no key' }])))).toBe('INVALID_RECORD');
  });
});
