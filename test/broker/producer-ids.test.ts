/**
 * Producer id allocation: ids never repeat, under concurrency, across blocks, across brokers sharing the
 * metadata store, and across restarts of a single-node broker (the next block is on disk first).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FileProducerIdBlocks,
  metadataProducerIdBlocks,
  PRODUCER_IDS_FILE,
} from '../../src/broker/producer-id-blocks.js';
import { ProducerIdAllocator, type ProducerIdBlockSource } from '../../src/broker/producer-ids.js';
import { InvariantViolation, StreamBusError } from '../../src/errors/index.js';
import { MetadataState } from '../../src/metadata/state.js';
import { nodeStorageFs, type StorageFs } from '../../src/storage/storage-fs.js';
import { scratchDir } from '../helpers/scratch-dir.js';

/** A source that answers after a few turns of the event loop, counting its calls. */
function slowSource(start = 1): ProducerIdBlockSource & { calls: number } {
  let next = start;
  const source = {
    calls: 0,
    async nextBlock(count: number): Promise<number> {
      source.calls++;
      const first = next;
      next += count;
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      return first;
    },
  };
  return source;
}

function expectDistinct(ids: readonly number[]): void {
  expect(new Set(ids).size).toBe(ids.length);
}

describe('ProducerIdAllocator', () => {
  it('concurrent requests never get the same id, across many block refills', async () => {
    const source = slowSource();
    const allocator = new ProducerIdAllocator(source, { blockSize: 7 });
    const ids = await Promise.all(Array.from({ length: 500 }, () => allocator.allocate()));
    expectDistinct(ids);
    // One fetch per block: callers that found the block empty shared the refill.
    expect(source.calls).toBe(Math.ceil(500 / 7));
    expect(Math.min(...ids)).toBe(1);
  });

  it('random interleavings of allocations never repeat an id (property)', async () => {
    const seed = Number(process.env.PRODUCER_IDS_SEED ?? Date.now() % 2 ** 31);
    // Replays with PRODUCER_IDS_SEED=<seed> npx vitest run test/broker/producer-ids.test.ts
    console.log(`producer id allocator property seed=${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        async (blockSize, waves) => {
          const allocator = new ProducerIdAllocator(slowSource(), { blockSize });
          const ids: number[] = [];
          for (const n of waves) {
            ids.push(...(await Promise.all(Array.from({ length: n }, () => allocator.allocate()))));
          }
          expectDistinct(ids);
        },
      ),
      { seed, numRuns: 50 },
    );
  });

  it('a failed block fetch fails its waiters without handing out an id; the next request tries again', async () => {
    let fail = true;
    const allocator = new ProducerIdAllocator(
      {
        nextBlock: async () => {
          if (fail) throw new StreamBusError('CIRCUIT_OPEN');
          return 1;
        },
      },
      { blockSize: 2 },
    );
    const failed = await Promise.allSettled([allocator.allocate(), allocator.allocate()]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await allocator.allocate()).toBe(1);
    expect(await allocator.allocate()).toBe(2);
  });

  it('refuses a source whose block goes backwards (it would repeat ids)', async () => {
    const firsts = [10, 5];
    const allocator = new ProducerIdAllocator(
      { nextBlock: async () => firsts.shift() ?? 0 },
      { blockSize: 1 },
    );
    expect(await allocator.allocate()).toBe(10);
    await expect(allocator.allocate()).rejects.toBeInstanceOf(InvariantViolation);
  });
});

describe('cluster mode: blocks from the metadata store', () => {
  it('two brokers allocating over one metadata image never hand out the same id', async () => {
    const image = new MetadataState();
    // A fake store: each call applies the command to the shared image, as the metadata leader would.
    const store = {
      async allocateProducerIds(count: number) {
        await new Promise((r) => setImmediate(r));
        const result = image.apply({ type: 'allocateProducerIds', count });
        if (!result.ok || result.firstProducerId === undefined) throw new Error('allocation refused');
        return { firstProducerId: result.firstProducerId };
      },
    };
    const a = new ProducerIdAllocator(metadataProducerIdBlocks(store), { blockSize: 10 });
    const b = new ProducerIdAllocator(metadataProducerIdBlocks(store), { blockSize: 10 });
    const ids = await Promise.all(Array.from({ length: 95 }, (_, i) => (i % 2 === 0 ? a : b).allocate()));
    expectDistinct(ids);
    expect(image.nextProducerId).toBe(101);
  });
});

describe('single node: blocks from a file in the data dir', () => {
  it('a restarted allocator never reuses an id, even ids its predecessor never handed out', async () => {
    const dir = scratchDir('producer-ids-');
    const before = new ProducerIdAllocator(new FileProducerIdBlocks(dir), { blockSize: 100 });
    const first = await Promise.all(Array.from({ length: 150 }, () => before.allocate()));
    expectDistinct(first);
    // "Restart": a new allocator over the same data dir (the old one is dropped with ids left in its block).
    const after = new ProducerIdAllocator(new FileProducerIdBlocks(dir), { blockSize: 100 });
    const second = await Promise.all(Array.from({ length: 10 }, () => after.allocate()));
    expect(Math.min(...second)).toBeGreaterThan(Math.max(...first));
    expect(Math.min(...second)).toBe(201);
    expect(JSON.parse(readFileSync(join(dir, PRODUCER_IDS_FILE), 'utf8'))).toEqual({
      version: 1,
      nextProducerId: 301,
    });
  });

  it('no id of a block is handed out before the block is on disk (a failed write hands out nothing)', async () => {
    const dir = scratchDir('producer-ids-');
    let failWrites = true;
    const fs: StorageFs = {
      ...nodeStorageFs,
      writeFileAtomic: async (path, data) => {
        if (failWrites) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        return nodeStorageFs.writeFileAtomic(path, data);
      },
    };
    const allocator = new ProducerIdAllocator(new FileProducerIdBlocks(dir, fs), { blockSize: 5 });
    await expect(allocator.allocate()).rejects.toMatchObject({ code: 'DISK_FULL' });
    failWrites = false;
    expect(await allocator.allocate()).toBe(1);
    const restarted = new ProducerIdAllocator(new FileProducerIdBlocks(dir), { blockSize: 5 });
    expect(await restarted.allocate()).toBe(6);
  });

  it('overlapping block requests on one file read distinct starts', async () => {
    const dir = scratchDir('producer-ids-');
    const blocks = new FileProducerIdBlocks(dir);
    const firsts = await Promise.all([blocks.nextBlock(10), blocks.nextBlock(10), blocks.nextBlock(10)]);
    expect(firsts).toEqual([1, 11, 21]);
  });

  it('a corrupt file is refused loudly rather than guessed at', async () => {
    const dir = scratchDir('producer-ids-');
    for (const content of [
      'not json',
      '{"version":1,"nextProducerId":0}',
      '{"version":2,"nextProducerId":5}',
    ]) {
      writeFileSync(join(dir, PRODUCER_IDS_FILE), content);
      await expect(new FileProducerIdBlocks(dir).nextBlock(10)).rejects.toMatchObject({
        code: 'CORRUPT_LOG',
      });
    }
  });
});
