#!/usr/bin/env node
// Would overlapping group commits lower the acks=all tail? Messages of SIZE bytes arrive at RATE per second
// (paced by a 1 ms timer, as a producer with linger 0 sends them); a group commit writes everything that
// arrived since its last write as one O_DSYNC append (as a StreamBus broker does under flush_policy: always)
// with at most DEPTH writes in flight at once (1: today's serial group commit). A message counts as durable
// when its write and every write before it completed (a log exposes a contiguous prefix). Prints the
// latency from arrival to durable. The file is zero-filled and synced first, as a preallocated segment is.
// LOAD busy threads (1 ms on, 1 ms off each) stand in for the benchmark's own CPU use.
// Usage: [DEPTH=1] [RATE=5000] [SIZE=1100] [DURATION_S=10] [LOAD=2] node scripts/group-commit-overlap-probe.mjs [DIR]
import { constants, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { latencySummary, startLoadThreads } from './probe-lib.mjs';

const depth = Number(process.env.DEPTH ?? 1);
const rate = Number(process.env.RATE ?? 5000);
const size = Number(process.env.SIZE ?? 1100);
const seconds = Number(process.env.DURATION_S ?? 10);
const load = Number(process.env.LOAD ?? 2);
const total = rate * seconds;
const dir = mkdtempSync(join(process.argv[2] ?? '/tmp', 'gc-overlap-'));
const path = join(dir, 'segment.log');
const zeros = await open(path, 'w');
const chunk = Buffer.alloc(1 << 20);
for (let at = 0; at < size * total + chunk.length; at += chunk.length)
  await zeros.write(chunk, 0, chunk.length, at);
await zeros.datasync();
await zeros.close();
await sleep(500);
const stopLoad = startLoadThreads(load, Date.now() + seconds * 1000 + 3000);
const fh = await open(path, constants.O_RDWR | constants.O_DSYNC);
const payload = Buffer.alloc(size, 7);
const arrivedNs = new Float64Array(total);
const latUs = [];
let arrived = 0; // messages that arrived so far
let grouped = 0; // messages already in a write
let durable = 0; // contiguous prefix of messages durable
let inFlight = 0;
const done = []; // writes completed out of order: [firstMsg, endMsg]
const writeEnds = []; // in-flight writes' end message, in order
let resolveAll;
const allDone = new Promise((r) => {
  resolveAll = r;
});

const complete = () => {
  while (writeEnds.length > 0 && done.includes(writeEnds[0])) {
    const end = writeEnds.shift();
    done.splice(done.indexOf(end), 1);
    const now = Number(process.hrtime.bigint());
    for (; durable < end; durable++) latUs.push((now - arrivedNs[durable]) / 1000);
  }
  if (durable === total) resolveAll();
};
const kick = () => {
  while (inFlight < depth && grouped < arrived) {
    const first = grouped;
    const end = arrived;
    grouped = end;
    inFlight++;
    writeEnds.push(end);
    const bufs = [];
    for (let i = first; i < end; i++) bufs.push(payload);
    fh.writev(bufs, first * size).then(() => {
      inFlight--;
      done.push(end);
      complete();
      kick();
    });
  }
};
const started = Number(process.hrtime.bigint());
while (arrived < total) {
  const due = Math.min(total, Math.floor(((Number(process.hrtime.bigint()) - started) / 1e9) * rate));
  const now = Number(process.hrtime.bigint());
  for (; arrived < due; arrived++) arrivedNs[arrived] = now;
  kick();
  await sleep(1);
}
await allDone;
await fh.close();
rmSync(dir, { recursive: true, force: true });
await stopLoad();
process.stdout.write(
  `depth ${depth}, ${rate} msgs/s of ${size} B, load ${load}: arrival to durable ${latencySummary(latUs)}\n`,
);
