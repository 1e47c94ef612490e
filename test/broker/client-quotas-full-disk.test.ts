/**
 * A single node's client-quotas.json on a full disk (a real tmpfs filled to the last byte): room to rewrite
 * it is held back (client-quotas.json.reserve), so an override (throttling the producer that filled the
 * disk) is still written; once that room is used up a change fails with a DISK_FULL that names the file,
 * and the file keeps the last change whole. Freed space brings the reserve back.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alterClientQuotas, FileClientQuotaStore } from '../../src/broker/client-quota-store.js';
import { CLIENT_QUOTAS_FILE } from '../../src/storage/log-manager.js';
import { fillDisk, tryMountTmpfs, unmountTmpfs } from '../helpers/test-tmpfs.js';

const TMPFS_BYTES = 1024 * 1024;
const RESERVE_FILE = `${CLIENT_QUOTAS_FILE}.reserve`;

const mountDir = tryMountTmpfs('client-quotas-full-disk', TMPFS_BYTES);

const change = (name: string, set: Record<string, string>) => ({
  type: 'client' as const,
  name,
  set,
  delete: [],
});

describe.skipIf(mountDir === null)('client quota overrides on a full disk (tmpfs)', () => {
  const mount = mountDir as string;
  const dataDir = join(mount, 'data');
  afterAll(() => unmountTmpfs(mount));

  it('an override is written on a full disk; past the reserve a change fails whole with DISK_FULL naming the file', async () => {
    mkdirSync(dataDir);
    const store = await FileClientQuotaStore.open(dataDir);
    expect(await readdir(dataDir)).toContain(RESERVE_FILE);
    await alterClientQuotas(store, change('', { producer_byte_rate: '1048576' }), false);
    await fillDisk(mount, 'filler');
    const onDisk = async () =>
      new Map(JSON.parse(await readFile(join(dataDir, CLIENT_QUOTAS_FILE), 'utf8')).clients);

    // The reserve makes room for the override that throttles the producer filling the disk.
    await alterClientQuotas(store, change('runaway', { producer_byte_rate: '1024' }), false);
    expect((await onDisk()).get('runaway')).toEqual({ producer_byte_rate: '1024' });

    // More overrides, the file growing each time, until the reserve and what it left are used up.
    let refused: unknown;
    for (let i = 0; i < 1_000 && refused === undefined; i++) {
      const before = store.current();
      await alterClientQuotas(
        store,
        change(`${i}-${'c'.repeat(250)}`, { consumer_byte_rate: '1' }),
        false,
      ).catch((err: unknown) => {
        refused = err;
        expect(store.current()).toBe(before);
      });
    }
    expect(refused).toMatchObject({
      code: 'DISK_FULL',
      message: expect.stringContaining(`${CLIENT_QUOTAS_FILE} not written: the disk is full`),
    });
    // Never torn: the file holds the last change that was applied, whole.
    expect(await onDisk()).toEqual(new Map(store.current()));
    expect(await readdir(dataDir)).not.toContain(`${CLIENT_QUOTAS_FILE}.tmp`);
    expect(await readdir(dataDir)).not.toContain(RESERVE_FILE);

    rmSync(join(mount, 'filler'));
    await alterClientQuotas(store, change('after', { consumer_byte_rate: '1024' }), false);
    expect(await readdir(dataDir)).toContain(RESERVE_FILE);
    expect((await FileClientQuotaStore.open(dataDir)).current()).toEqual(store.current());
  });
});
