#!/usr/bin/env node
// How fast a disk takes synchronous appends, the way StreamBus writes under flush_policy: always (O_DSYNC,
// one write per group commit), over time: some VMs' disks run fast for a burst and are then throttled.
// Usage: node scripts/disk-dsync-probe.mjs [DIR] [ROUNDS]   (writes 144 MiB per round into DIR, then deletes)
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const dir = mkdtempSync(join(process.argv[2] ?? '/tmp', 'dsync-probe-'));
const rounds = Number(process.argv[3] ?? 12);
const FILES = 9; // three partitions on each of three brokers
const WRITE_BYTES = 256 * 1024;
const WRITES_PER_ROUND = FILES * 64;
const files = Array.from({ length: FILES }, (_, i) =>
  openSync(join(dir, `segment-${i}.log`), constants.O_CREAT | constants.O_RDWR | constants.O_DSYNC),
);
const buf = Buffer.alloc(WRITE_BYTES, 7);
const positions = files.map(() => 0);
try {
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let n = 0; n < WRITES_PER_ROUND; n++) {
      const i = n % FILES;
      writeSync(files[i], buf, 0, buf.length, positions[i]);
      positions[i] += buf.length;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const mib = (WRITES_PER_ROUND * WRITE_BYTES) / 1048576;
    process.stdout.write(
      `round ${round}: ${mib} MiB in ${ms.toFixed(0)} ms = ${((mib / ms) * 1000).toFixed(0)} MiB/s\n`,
    );
  }
} finally {
  for (const f of files) closeSync(f);
  rmSync(dir, { recursive: true, force: true });
}
