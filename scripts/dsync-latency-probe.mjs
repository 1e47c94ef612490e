#!/usr/bin/env node
// Latency of one small synchronous append, the way a StreamBus broker's group commit writes under
// flush_policy: always (O_DSYNC, through fs/promises and the libuv thread pool), every ~1 ms: the floor of
// an acks=all e2e latency. LOAD busy threads (1 ms on, 1 ms off each) stand in for the benchmark's own CPU
// use; NOSYNC=1 writes to the page cache only; PREFILL=1 writes into a file zero-filled (and synced)
// beforehand, as a segment with storage.preallocate_bytes does, instead of extending the file.
// Usage: [LOAD=2] [NOSYNC=1] [PREFILL=1] [SIZE=5500] [N=5000] node scripts/dsync-latency-probe.mjs [DIR]
import { constants, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { latencySummary, startLoadThreads } from './probe-lib.mjs';

const size = Number(process.env.SIZE ?? 5500);
const n = Number(process.env.N ?? 5000);
const load = Number(process.env.LOAD ?? 0);
const sync = process.env.NOSYNC === undefined;
const prefill = process.env.PREFILL !== undefined;
const dir = mkdtempSync(join(process.argv[2] ?? '/tmp', 'dsync-latency-'));
const stopLoad = startLoadThreads(load, Date.now() + n * 1.3 + 2000);
if (prefill) {
  const zeros = await open(join(dir, 'segment.log'), 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let at = 0; at < size * n; at += chunk.length) await zeros.write(chunk, 0, chunk.length, at);
  await zeros.datasync();
  await zeros.close();
}
await sleep(200);
const fh = await open(
  join(dir, 'segment.log'),
  constants.O_CREAT | constants.O_RDWR | (sync ? constants.O_DSYNC : 0),
);
const buf = Buffer.alloc(size, 7);
const latUs = [];
try {
  for (let i = 0, pos = 0; i < n; i++, pos += size) {
    const t = process.hrtime.bigint();
    await fh.write(buf, 0, size, pos);
    latUs.push(Number(process.hrtime.bigint() - t) / 1000);
    await sleep(1);
  }
} finally {
  await fh.close();
  rmSync(dir, { recursive: true, force: true });
  await stopLoad();
}
process.stdout.write(
  `${sync ? 'O_DSYNC' : 'page cache'}${prefill ? ' into zeros' : ''} ${size} B, load ${load}: ${latencySummary(latUs)}\n`,
);
