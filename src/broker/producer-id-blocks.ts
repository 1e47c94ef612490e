/**
 * The two durable sources of producer id blocks: the replicated metadata store (cluster mode) and, for a
 * single-node broker, a small file in the data dir holding the first id of the next block.
 */
import { join } from 'node:path';
import { StreamBusError, toStreamBusError } from '../errors/index.js';
import type { MetadataStore } from '../metadata/store.js';
import { PRODUCER_IDS_FILE } from '../storage/log-manager.js';
import { nodeStorageFs, type StorageFs } from '../storage/storage-fs.js';
import type { ProducerIdBlockSource } from './producer-ids.js';

/** Cluster mode: each block is an allocateProducerIds command, so ids are unique across brokers. */
export function metadataProducerIdBlocks(
  store: Pick<MetadataStore, 'allocateProducerIds'>,
): ProducerIdBlockSource {
  return { nextBlock: async (count) => (await store.allocateProducerIds(count)).firstProducerId };
}

/** The single-node file is `<data dir>/producer-ids`, written atomically as `producer-ids.tmp` then renamed. */
export { PRODUCER_IDS_FILE };

interface ProducerIdsFile {
  version: 1;
  /** The first id of the next block: every id below it may have been handed out. */
  nextProducerId: number;
}

/**
 * Single node: the next block's start is written (temp file, fsync, rename, fsync of the folder) before
 * any id of the new block is handed out, so a crash at any point never lets a restarted broker reuse an id.
 * The data-dir lock (taken by the log manager) keeps a second process away from the file.
 */
export class FileProducerIdBlocks implements ProducerIdBlockSource {
  private readonly path: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly fs: StorageFs = nodeStorageFs,
  ) {
    this.path = join(dataDir, PRODUCER_IDS_FILE);
  }

  nextBlock(count: number): Promise<number> {
    // One read-then-write at a time, whoever calls: two overlapping calls must not read the same start.
    const run = this.chain.then(() => this.reserve(count));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reserve(count: number): Promise<number> {
    let raw: Buffer | null;
    try {
      raw = await this.fs.readFile(this.path);
    } catch (err) {
      throw toStreamBusError(err, 'producer_ids.read');
    }
    const first = raw === null ? 1 : parseFile(this.path, raw);
    const file: ProducerIdsFile = { version: 1, nextProducerId: first + count };
    try {
      await this.fs.writeFileAtomic(this.path, Buffer.from(`${JSON.stringify(file)}\n`));
    } catch (err) {
      throw toStreamBusError(err, 'producer_ids.write');
    }
    return first;
  }
}

function parseFile(path: string, raw: Buffer): number {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    doc = null;
  }
  const d = doc as Partial<ProducerIdsFile> | null;
  const next = d?.nextProducerId;
  if (
    typeof doc !== 'object' ||
    d === null ||
    d.version !== 1 ||
    typeof next !== 'number' ||
    !Number.isSafeInteger(next) ||
    next < 1
  ) {
    // Guessing a start could hand out ids already used: refuse loudly instead.
    throw new StreamBusError('CORRUPT_LOG', {
      operation: 'producer_ids.read',
      message: `${path} is not { version: 1, nextProducerId: int >= 1 }`,
      metadata: { file: path },
    });
  }
  return next;
}
