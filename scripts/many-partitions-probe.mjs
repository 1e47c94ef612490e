// How a 3-broker loopback cluster behaves as the partition count grows (docs/benchmarks.md, "Many
// partitions"). Starts its own brokers (as `streambus dev-cluster` does, but one by one so one can be killed
// and restarted), then for each step grows the partition total with RF 3 topics and measures: topic creation
// until every partition has a leader and a full ISR, idle CPU / RSS / fds per broker and loopback traffic over
// an idle window, kill -9 and restart of one broker (until /health/ready, until its replicas are in sync
// again), a SIGTERM shutdown, and produce throughput over the step's topic against a 3-partition topic.
//
//   npm run build && node scripts/many-partitions-probe.mjs --steps 300,1000 [--idle-s 20] [--keep]
//
// Data and logs go to a fresh directory under the OS temp dir, removed at the end unless --keep.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cmd/streambus.js');
const { BROKER_NODE_FLAGS } = await import(join(ROOT, 'dist/src/broker/node-flags.js'));
const { createClient } = await import(join(ROOT, 'dist/src/index.js'));

const { values: opts } = parseArgs({
  options: {
    steps: { type: 'string', default: '300,1000' },
    'idle-s': { type: 'string', default: '20' },
    'base-port': { type: 'string', default: '19400' },
    'bench-messages': { type: 'string', default: '100000' },
    'topic-partitions-max': { type: 'string', default: '1000' },
    'skip-restart': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const steps = opts.steps.split(',').map(Number);
const idleS = Number(opts['idle-s']);
const basePort = Number(opts['base-port']);
const HOST = '127.0.0.1';
const dir = mkdtempSync(join(tmpdir(), 'many-partitions-'));
const CLK_TCK = 100;
const PAGE = 4096;

const brokers = [1, 2, 3].map((id) => {
  const client = basePort + (id - 1) * 10;
  return { id, client, peer: client + 1, http: client + 2, dataDir: join(dir, `broker-${id}`), child: null };
});
const voters = brokers.map((b) => `${b.id}@${HOST}:${b.peer}`).join(',');
const bootstrap = brokers.map((b) => `${HOST}:${b.client}`).join(',');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);

function start(b) {
  mkdirSync(b.dataDir, { recursive: true });
  const out = openSync(join(dir, `broker-${b.id}.log`), 'a');
  const args = [
    ...BROKER_NODE_FLAGS,
    // e.g. PROBE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (profiles are written on a clean exit)
    ...(process.env.PROBE_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
    CLI,
    'broker',
    '--node-id',
    String(b.id),
    '--data-dir',
    b.dataDir,
    '--listen',
    `${HOST}:${b.client}`,
    '--peer-listen',
    `${HOST}:${b.peer}`,
    '--http-listen',
    `${HOST}:${b.http}`,
    '--voters',
    voters,
  ];
  b.child = spawn(process.execPath, args, { stdio: ['ignore', out, out], detached: true });
  b.exited = new Promise((r) => b.child.once('exit', r));
}

async function httpGet(b, path) {
  try {
    const res = await fetch(`http://${HOST}:${b.http}${path}`, { signal: AbortSignal.timeout(2_000) });
    return { code: res.status, text: await res.text() };
  } catch {
    return { code: 0, text: '' };
  }
}

async function until(what, fn, timeoutMs, everyMs = 200) {
  const t0 = performance.now();
  for (;;) {
    // One slow answer (a request to a broker that is still starting) must not stall the wait.
    let timer;
    const late = new Promise((resolve) => {
      timer = setTimeout(() => resolve(false), 20_000);
    });
    const done = await Promise.race([fn().catch(() => false), late]);
    clearTimeout(timer);
    if (done) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

const readyMs = (b, timeoutMs = 300_000) =>
  until(`broker ${b.id} ready`, async () => (await httpGet(b, '/health/ready')).code === 200, timeoutMs);

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}
const rssMiB = (pid) => (Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE) / 2 ** 20;
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;
/** Bytes and write calls a process made (sockets and files; idle, that is the inter-broker traffic). */
function written(pid) {
  const io = Object.fromEntries(
    readFileSync(`/proc/${pid}/io`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(': ')),
  );
  return { bytes: Number(io.wchar), calls: Number(io.syscw) };
}

async function gaugeSum(name) {
  const texts = await Promise.all(brokers.map((b) => httpGet(b, '/metrics')));
  let sum = 0;
  for (const { code, text } of texts) {
    if (code !== 200) return Number.NaN;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    sum += Number(line?.split(' ').at(-1) ?? Number.NaN);
  }
  return sum;
}

/**
 * `led`: partitions whose metadata leader answers ListOffsets (it is the Raft leader; metadata alone names the
 * preferred leader before any election). `full`: partitions whose metadata ISR lists every replica, and 0
 * when a leader still reports an under-replicated partition or a follower behind.
 */
async function partitionState(admin, topics, withLag = true) {
  const md = await admin.metadata(topics);
  const asks = md.topics.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partition, timestamp: -1 })),
  );
  let led = 0;
  try {
    for (const r of await admin.listOffsets(asks)) if (r.error === null) led++;
  } catch {}
  let full = md.topics.flatMap((t) => t.partitions).filter((p) => p.isr.length === p.replicas.length).length;
  if (!withLag) return { total: asks.length, led, full };
  const lagging =
    (await gaugeSum('streambus_partitions_under_replicated')) +
    (await gaugeSum('streambus_replica_follower_lag_entries'));
  if (!(lagging === 0)) full = 0;
  return { total: asks.length, led, full };
}

/** Partitions led by their first replica (the preferred leader the coordinator hands leadership back to). */
async function preferredLed(admin, topics) {
  const md = await admin.metadata(topics);
  return md.topics.flatMap((t) => t.partitions).filter((p) => p.leaderId === p.replicas[0]).length;
}

async function idleWindow() {
  const pids = brokers.map((b) => b.child.pid);
  const c0 = pids.map(cpuTicks);
  const w0 = pids.map(written);
  const v0 = await gaugeSum('metadata_version');
  await sleep(idleS * 1000);
  const c1 = pids.map(cpuTicks);
  const w1 = pids.map(written);
  const v1 = await gaugeSum('metadata_version');
  return {
    cpuPct: pids.map((_, i) => (((c1[i] - c0[i]) / CLK_TCK / idleS) * 100).toFixed(1)),
    rssMiB: pids.map((p) => rssMiB(p).toFixed(0)),
    fds: pids.map(fds),
    writtenKiBps: pids.map((_, i) => ((w1[i].bytes - w0[i].bytes) / 1024 / idleS).toFixed(0)),
    writesPerS: pids.map((_, i) => ((w1[i].calls - w0[i].calls) / idleS).toFixed(0)),
    metadataChangesPerS: ((v1 - v0) / 3 / idleS).toFixed(1),
  };
}

function bench(topic, partitions) {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'bench',
      'produce',
      '--topic',
      topic,
      '--partitions',
      String(partitions),
      '--messages',
      opts['bench-messages'],
      '--warmup',
      '5000',
      '--bootstrap',
      bootstrap,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  try {
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1));
    return `${Math.round(s.msgs_per_s)} msgs/s, p50 ${s.p50_us} us, p99 ${s.p99_us} us`;
  } catch {
    return `failed: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`;
  }
}

let client;
const results = [];
try {
  log(
    `data in ${dir}; ulimit -n ${spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim()}`,
  );
  for (const b of brokers) start(b);
  const startMs = await Promise.all(brokers.map((b) => readyMs(b, 120_000)));
  log(`3 brokers ready in ${startMs.map((x) => x.toFixed(0)).join(' / ')} ms`);
  client = createClient({ bootstrap });
  const admin = client.admin({ timeoutMs: 120_000 });
  await sleep(3_000);
  const base = await idleWindow();
  log('idle, no topics:', JSON.stringify(base));
  // The same 3-partition produce with no other partitions, to set the ones below against.
  base.bench = bench('bench-3p-alone', 3);
  log(`bench produce over 3 partitions, no others: ${base.bench}`);
  results.push({ partitions: 0, ...base });

  let total = 0;
  const topics = [];
  for (const target of steps) {
    const step = {};
    const add = target - total;
    const perTopicMax = Number(opts['topic-partitions-max']);
    const created = [];
    const t0 = performance.now();
    for (let left = add, i = 0; left > 0; i++) {
      const n = Math.min(left, perTopicMax);
      const name = `many-${target}-${i}`;
      const tc = performance.now();
      await admin.createTopic({ name, partitions: n, replicationFactor: 3 });
      log(`CreateTopics ${name} (${n} partitions) answered in ${(performance.now() - tc).toFixed(0)} ms`);
      created.push(name);
      left -= n;
    }
    step.createAnsweredMs = performance.now() - t0;
    topics.push(...created);
    total = target;
    await until(
      'every partition led',
      async () => {
        const s = await partitionState(admin, topics, false);
        return s.total === total && s.led === total;
      },
      600_000,
      500,
    );
    step.allLedMs = performance.now() - t0;
    await until(
      'every ISR full',
      async () => {
        const s = await partitionState(admin, topics);
        return s.full === total;
      },
      600_000,
      500,
    );
    step.allInSyncMs = performance.now() - t0;
    log(
      `${total} partitions: answered ${step.createAnsweredMs.toFixed(0)} ms, led ${step.allLedMs.toFixed(0)} ms, in sync ${step.allInSyncMs.toFixed(0)} ms`,
    );
    await sleep(5_000);
    Object.assign(step, await idleWindow());
    const metrics = await httpGet(brokers[0], '/metrics');
    step.metricsBytes = metrics.text.length;
    step.metricsSeries = metrics.text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    log(`${total} partitions idle:`, JSON.stringify(step));
    if (process.env.PROBE_STOP_AFTER_IDLE === '1') break;

    if (!opts['skip-restart']) {
      const b = brokers[2];
      b.child.kill('SIGKILL');
      await b.exited;
      const tr = performance.now();
      const others = brokers.slice(0, 2).map((o) => o.child.pid);
      const othersCpu0 = others.map(cpuTicks);
      start(b);
      step.restartReadyMs = await readyMs(b);
      await until(
        'every ISR full after the restart',
        async () => (await partitionState(admin, topics)).full === total,
        600_000,
        500,
      );
      step.restartInSyncMs = performance.now() - tr;
      // The restarted broker then takes back the leaderships it prefers (one transfer and one metadata write
      // each): measured apart, and waited for, so the bench below does not run during it.
      await until(
        'every partition led by its preferred leader',
        async () => (await preferredLed(admin, topics)) === total,
        600_000,
        250,
      );
      step.restartBalancedMs = performance.now() - tr;
      const cpuS = step.restartBalancedMs / 1000;
      step.restartOthersCpuPct = others.map((pid, i) =>
        (((cpuTicks(pid) - othersCpu0[i]) / CLK_TCK / cpuS) * 100).toFixed(1),
      );
      step.restartedCpuS = (cpuTicks(b.child.pid) / CLK_TCK).toFixed(1);
      log(
        `kill -9 broker 3: ready ${step.restartReadyMs.toFixed(0)} ms, all ISR full ${step.restartInSyncMs.toFixed(0)} ms, leaders back ${step.restartBalancedMs.toFixed(0)} ms (brokers 1-2 CPU ${step.restartOthersCpuPct.join(', ')}% meanwhile; broker 3 ${step.restartedCpuS} CPU s)`,
      );
      const ts = performance.now();
      b.child.kill('SIGTERM');
      await b.exited;
      step.sigtermMs = performance.now() - ts;
      start(b);
      await readyMs(b);
      await until(
        'ISR full again',
        async () => (await partitionState(admin, topics)).full === total,
        600_000,
        500,
      );
      await until('leaders back', async () => (await preferredLed(admin, topics)) === total, 600_000, 250);
      log(`SIGTERM broker 3: exited in ${step.sigtermMs.toFixed(0)} ms`);
    }
    // Always the first step's topic, so each step measures the same partition spread under more idle groups.
    step.bench = bench(topics[0], steps[0]);
    log(`bench produce over ${topics[0]} (${steps[0]} partitions): ${step.bench}`);
    results.push({ partitions: total, ...step });
  }
  const small = bench('bench-3p', 3);
  log(`bench produce over 3 partitions, beside all the others: ${small}`);
  process.stdout.write(`${JSON.stringify({ results, bench3: small }, null, 1)}\n`);
} finally {
  await client?.close?.();
  for (const b of brokers) if (b.child && b.child.exitCode === null) b.child.kill('SIGTERM');
  if (process.env.PROBE_STOP_AFTER_IDLE === '1') log('stopping (SIGTERM)');
  const stopped = Promise.all(brokers.map((b) => b.exited));
  // Unref'd: once the brokers are gone, this timer must not keep the probe running.
  const grace = new Promise((resolve) => setTimeout(() => resolve(false), 30_000).unref());
  if ((await Promise.race([stopped.then(() => true), grace])) === false) {
    for (const b of brokers) if (b.child.exitCode === null) b.child.kill('SIGKILL');
    await stopped;
  }
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
}
