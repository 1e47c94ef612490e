import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import type { Entry } from '../../src/raft/core/index.js';
import { LevelRaftStorage } from '../../src/raft/storage/level-storage.js';

/**
 * The crash test runs the storage in a child process, which needs the compiled JavaScript. `npm test` builds
 * first; the test never rebuilds dist/ itself, since other test files run the built broker at the same time.
 */
function compiledStorage(): string {
  const root = join(import.meta.dirname, '../..');
  const file = join(root, 'dist/src/raft/storage/level-storage.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
  return pathToFileURL(file).href;
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raft-level-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const ent = (index: number, term: number, s = `e${index}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(s),
});

describe('LevelRaftStorage', () => {
  it('bootstraps a founding member with the committed voter entries', async () => {
    const dir = tempDir();
    const s = await LevelRaftStorage.open(dir, [1, 2, 3]);
    expect(s.lastIndex()).toBe(3);
    expect(s.hardState()).toEqual({ term: 1, vote: 0, commit: 3 });
    await s.close();
    // Bootstrapping again must not touch existing state.
    const again = await LevelRaftStorage.open(dir, [7]);
    expect(again.lastIndex()).toBe(3);
    await again.close();
  });

  it('round-trips hard state, entries and conflicting-suffix truncation across a reopen', async () => {
    const dir = tempDir();
    const s = await LevelRaftStorage.open(dir, [1, 2, 3]);
    await s.save(
      { entries: [ent(4, 2), ent(5, 2), ent(6, 2)], hardState: { term: 2, vote: 1, commit: 4 } },
      true,
    );
    // A new leader overwrites 5..6 with a single entry 5 of term 3.
    await s.save({ entries: [ent(5, 3, 'new')], hardState: { term: 3, vote: 2, commit: 4 } }, true);
    await s.close();

    const r = await LevelRaftStorage.open(dir);
    expect(r.hardState()).toEqual({ term: 3, vote: 2, commit: 4 });
    expect(r.lastIndex()).toBe(5);
    expect(r.term(5)).toBe(3);
    const got = r.entries(4, 6, Number.POSITIVE_INFINITY);
    expect(Array.isArray(got) && got.map((e) => new TextDecoder().decode(e.data))).toEqual(['e4', 'new']);
    await r.close();
  });

  it('keeps snapshots and compaction across a reopen', async () => {
    const dir = tempDir();
    const s = await LevelRaftStorage.open(dir, [1]);
    await s.save(
      { entries: [2, 3, 4, 5, 6, 7].map((i) => ent(i, 1)), hardState: { term: 1, vote: 1, commit: 7 } },
      true,
    );
    const conf = { voters: [1], learners: [] };
    await s.saveSnapshot({ metadata: { index: 6, term: 1, confState: conf }, data: new Uint8Array([42]) }, 5);
    expect(s.firstIndex()).toBe(6);
    await expect(async () => s.save({ entries: [ent(9, 1)] }, true)).rejects.toThrow(/gap/);
    await s.close();
    const r = await LevelRaftStorage.open(dir);
    expect(r.snapshot().metadata).toEqual({ index: 6, term: 1, confState: conf });
    expect([...r.snapshot().data]).toEqual([42]);
    expect(r.firstIndex()).toBe(7);
    expect(r.lastIndex()).toBe(7);
    expect(r.initialState().confState).toEqual(conf);
    await r.close();
  });

  it('a snapshot received from the leader replaces the whole log', async () => {
    const dir = tempDir();
    const s = await LevelRaftStorage.open(dir, [1, 2, 3]);
    const snap = {
      metadata: { index: 50, term: 4, confState: { voters: [1, 2, 3], learners: [] } },
      data: new Uint8Array([1]),
    };
    await s.save({ entries: [], snapshot: snap, hardState: { term: 4, vote: 0, commit: 50 } }, true);
    await s.save({ entries: [ent(51, 4)], hardState: { term: 4, vote: 0, commit: 51 } }, true);
    await s.close();
    const r = await LevelRaftStorage.open(dir);
    expect(r.firstIndex()).toBe(51);
    expect(r.lastIndex()).toBe(51);
    expect(r.term(50)).toBe(4);
    await r.close();
  });

  it('crash-reopen: synced state survives a process killed with SIGKILL before closing the db', async () => {
    const dir = tempDir();
    const script = `
      const { LevelRaftStorage } = await import(${JSON.stringify(compiledStorage())});
      const s = await LevelRaftStorage.open(process.argv[1], [1, 2, 3]);
      const data = new TextEncoder().encode('durable');
      await s.save({ entries: [{ index: 4, term: 2, type: 'normal', data }], hardState: { term: 2, vote: 3, commit: 4 } }, true);
      process.stdout.write('saved\\n');
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir], {
      encoding: 'utf8',
    });
    expect(child.stdout).toContain('saved');
    expect(child.signal).toBe('SIGKILL');
    const r = await LevelRaftStorage.open(dir);
    expect(r.hardState()).toEqual({ term: 2, vote: 3, commit: 4 });
    expect(r.term(4)).toBe(2);
    await r.close();
  });

  it('refuses a log with a gap in the middle rather than silently dropping data', async () => {
    const dir = tempDir();
    const s = await LevelRaftStorage.open(dir, [1, 2, 3]);
    await s.save(
      { entries: [ent(4, 1), ent(5, 1), ent(6, 1)], hardState: { term: 1, vote: 0, commit: 6 } },
      true,
    );
    await s.close();
    const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
    await db.del(`e${(5).toString(16).padStart(16, '0')}`);
    await db.close();
    const err = await LevelRaftStorage.open(dir).catch((e: unknown) => e);
    expect(isStreamBusError(err, 'CORRUPT_LOG')).toBe(true);
  });

  it('refuses a garbage entry value', async () => {
    const dir = tempDir();
    const s = await LevelRaftStorage.open(dir, [1]);
    await s.close();
    const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
    await db.put(`e${(2).toString(16).padStart(16, '0')}`, new Uint8Array([0xc1, 0xff, 0x00]));
    await db.close();
    const err = await LevelRaftStorage.open(dir).catch((e: unknown) => e);
    expect(isStreamBusError(err)).toBe(true);
  });
});
