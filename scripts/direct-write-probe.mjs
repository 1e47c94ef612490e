#!/usr/bin/env node
// What a synchronous (O_DSYNC) 1 MiB append costs through the page cache against around it (O_DIRECT), the
// two ways a replicated segment is written (src/storage/direct-write-file.ts): throughput and the process's
// CPU (the thread pool's kernel time included). Alternates the two modes, ROUNDS times each, PAUSE_S seconds
// (default 10) before each run: on a VM that hands freed memory back to its host (free page reporting), new
// page-cache pages are slow to get, and pages freed a moment ago (the previous run's file) are not; the pause
// measures what a broker writing new data into free memory pays. PAUSE_S=0 shows the other case.
// Usage: node scripts/direct-write-probe.mjs [DIR] [ROUNDS] [MIB]   (writes MIB per run into DIR, then deletes)
import { constants, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const dir = mkdtempSync(join(process.argv[2] ?? '/tmp', 'direct-probe-'));
const rounds = Number(process.argv[3] ?? 2);
const totalBytes = Number(process.argv[4] ?? 512) * 1024 * 1024;
const pauseMs = Number(process.env.PAUSE_S ?? 10) * 1000;
const CHUNK = 1024 * 1024;
// Direct I/O needs aligned memory: a WebAssembly memory starts on a page boundary.
const buffer = Buffer.from(new WebAssembly.Memory({ initial: CHUNK / 65536 }).buffer, 0, CHUNK);
for (let i = 0; i < CHUNK; i++) buffer[i] = (i * 7) & 0xff;

async function run(mode) {
  const path = join(dir, `segment-${mode}.log`);
  const flags =
    constants.O_WRONLY |
    constants.O_CREAT |
    constants.O_TRUNC |
    constants.O_DSYNC |
    (mode === 'direct' ? constants.O_DIRECT : 0);
  const file = await open(path, flags, 0o644);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let position = 0; position < totalBytes; position += CHUNK)
    await file.write(buffer, 0, CHUNK, position);
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await file.close();
  rmSync(path);
  const mib = totalBytes / 1048576;
  process.stdout.write(
    `${mode.padEnd(8)} ${mib} MiB in ${ms.toFixed(0)} ms = ${((mib / ms) * 1000).toFixed(0)} MiB/s, ` +
      `cpu user ${(used.user / 1000).toFixed(0)} ms, system ${(used.system / 1000).toFixed(0)} ms\n`,
  );
}

try {
  for (let round = 0; round < rounds; round++) {
    await sleep(pauseMs);
    await run('buffered');
    await sleep(pauseMs);
    await run('direct');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
