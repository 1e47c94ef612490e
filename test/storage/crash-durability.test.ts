import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { openLog, readAll, tempDir } from './helpers.js';

/** The built package (npm test builds first); STORAGE_CRASH_TEST_ROOT points elsewhere for a local build. */
const ROOT = process.env.STORAGE_CRASH_TEST_ROOT ?? resolve(import.meta.dirname, '../../dist');
const WRITER = resolve(import.meta.dirname, 'fixtures/crash-writer.mjs');
const built = existsSync(resolve(ROOT, 'src/storage/partition-log.js'));

describe.skipIf(!built)('kill -9 during appends', () => {
  it("keeps every append acknowledged under flushPolicy 'always'", async () => {
    const dir = await tempDir();
    try {
      const child = spawn(process.execPath, [WRITER, ROOT, dir.path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const acked = new Map<number, string>();
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      await new Promise<void>((done) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const space = line.indexOf(' ');
          acked.set(Number(line.slice(0, space)), line.slice(space + 1));
          if (acked.size === 3000) {
            child.kill('SIGKILL');
            done();
          }
        });
      });
      await exited;
      const log = await openLog(dir.path, { segmentBytes: 64 * 1024, indexIntervalBytes: 512 });
      try {
        const stored = new Map((await readAll(log)).map((r) => [r.offset, r.value]));
        expect(log.stats().segments).toBeGreaterThan(1);
        const missing = [...acked].filter(([offset, value]) => stored.get(offset) !== value);
        expect(missing).toEqual([]);
        expect([...stored.keys()]).toEqual(Array.from({ length: stored.size }, (_, i) => i));
      } finally {
        await log.close();
      }
    } finally {
      await dir.cleanup();
    }
  });
});
