/**
 * Where client quota overrides are kept (client-quota-store.ts): on a single node a file in the data dir
 * that a restarted broker reads back; every change checked before it is written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alterClientQuotas, FileClientQuotaStore } from '../../src/broker/client-quota-store.js';
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
