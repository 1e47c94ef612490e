/**
 * Where client quota overrides are kept (client-quota-store.ts): on a single node a file in the data dir
 * that a restarted broker reads back; every change checked before it is written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  alterClientQuotas,
  FileClientQuotaStore,
  MetadataClientQuotaStore,
} from '../../src/broker/client-quota-store.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { MetadataState } from '../../src/metadata/state.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { CLIENT_QUOTAS_FILE } from '../../src/storage/log-manager.js';
import { nodeStorageFs, type StorageFs } from '../../src/storage/storage-fs.js';
import { scratchDir } from '../helpers/scratch-dir.js';

const change = (name: string, set: Record<string, string>, del: string[] = []) => ({
  type: 'client' as const,
  name,
  set,
  delete: del,
});

describe('single node: client quota overrides in the data dir', () => {
  it('survive a restart (a new store over the same data dir reads them back)', async () => {
    const dir = scratchDir('client-quotas-');
    const store = await FileClientQuotaStore.open(dir);
    await alterClientQuotas(store, change('app', { producer_byte_rate: '1000' }), false);
    await alterClientQuotas(store, change('', { consumer_byte_rate: '2000' }), false);
    await alterClientQuotas(store, change('gone', { consumer_byte_rate: '5' }), false);
    await alterClientQuotas(store, change('gone', {}, ['consumer_byte_rate']), false);
    const restarted = await FileClientQuotaStore.open(dir);
    expect(Object.fromEntries(restarted.current())).toEqual({
      '': { consumer_byte_rate: '2000' },
      app: { producer_byte_rate: '1000' },
    });
    expect(JSON.parse(readFileSync(join(dir, CLIENT_QUOTAS_FILE), 'utf8')).version).toBe(1);
  });

  it('validate-only and refused changes write nothing; a failed write leaves the overrides as they were', async () => {
    const dir = scratchDir('client-quotas-');
    let failWrites = false;
    const fs: StorageFs = {
      ...nodeStorageFs,
      writeFileAtomic: async (path, data) => {
        if (failWrites) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        return nodeStorageFs.writeFileAtomic(path, data);
      },
    };
    const store = await FileClientQuotaStore.open(dir, fs);
    await alterClientQuotas(store, change('app', { producer_byte_rate: '1000' }), true);
    await expect(
      alterClientQuotas(store, change('app', { producer_byte_rate: 'lots' }), false),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(store.current().size).toBe(0);
    failWrites = true;
    await expect(
      alterClientQuotas(store, change('app', { producer_byte_rate: '1000' }), false),
    ).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(store.current().size).toBe(0);
    expect((await FileClientQuotaStore.open(dir)).current().size).toBe(0);
  });

  it('a corrupt file is refused loudly rather than read as no overrides', async () => {
    const dir = scratchDir('client-quotas-');
    for (const content of [
      'not json',
      '{"version":2,"clients":[]}',
      '{"version":1,"clients":[["app",{"producer_byte_rate":"0"}]]}',
    ]) {
      writeFileSync(join(dir, CLIENT_QUOTAS_FILE), content);
      await expect(FileClientQuotaStore.open(dir)).rejects.toMatchObject({ code: 'CORRUPT_LOG' });
    }
  });
});

describe('cluster mode: client quota overrides in the metadata', () => {
  /** A metadata store over one image at `level`, counting the writes it is asked for. */
  function storeAt(level: number) {
    const image = new MetadataState();
    image.featureLevel = level;
    const writes: unknown[] = [];
    const store = {
      snapshotView: () => image.view(),
      readLinearizable: async () => image.view(),
      alterClientQuotas: async (q: {
        clientId: string;
        set: Record<string, string>;
        delete: readonly string[];
      }) => {
        writes.push(q);
        const r = image.apply({ type: 'alterClientQuotas', ...q });
        if (!r.ok) throw new Error(r.message);
        return { version: image.version };
      },
      stateMachine: { version: Number.MAX_SAFE_INTEGER, subscribe: () => () => {} },
    } as unknown as MetadataStore;
    return { store: new MetadataClientQuotaStore(store, 1_000), writes };
  }

  it('refuses before writing while the cluster is below the client-quotas level', async () => {
    const { store, writes } = storeAt(FEATURE.partitionReassignment);
    await expect(
      alterClientQuotas(store, change('app', { producer_byte_rate: '1000' }), false),
    ).rejects.toMatchObject({ code: 'FEATURE_NOT_FINALIZED', message: expect.stringMatching(/level 6/) });
    expect(writes).toEqual([]);
  });

  it('writes an alterClientQuotas command at the level, and reads the overrides from the image', async () => {
    const { store, writes } = storeAt(FEATURE.clientQuotas);
    await alterClientQuotas(store, change('app', { producer_byte_rate: '1000' }), false);
    expect(writes).toEqual([{ clientId: 'app', set: { producer_byte_rate: '1000' }, delete: [] }]);
    expect(store.current().get('app')).toEqual({ producer_byte_rate: '1000' });
  });
});
