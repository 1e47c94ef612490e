/**
 * `npm run bench:overhead [-- --seconds S --rounds R --payload BYTES]`: the cost of the operating surface.
 * Runs an in-process broker with metrics + logging + health at their defaults ("on") and with all of them
 * off (metrics.enabled false, health.http.enabled false, logging.level silent), alternating R rounds of S
 * seconds each in one process, and produces with the SDK (acks=1, default batching) as fast as it can.
 * Prints per-round throughput, then one JSON line with the medians, the overhead (1 - on/off) and the
 * median of the per-round paired ratios.
 * While "on" runs it also times /health/ready and /metrics (they must answer in well under 100 ms), and
 * at the end it times the circuit breaker's decision (admit + record around a call that does nothing), closed
 * and open, since every metadata proposal and inter-broker call pays it.
 *
 * "Off" means: metrics.enabled false (the broker records nothing on the data path), health.http.enabled
 * false (no HTTP listener; the checks still run on their interval, since readiness and drain use them) and
 * logging.level silent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../src/broker/broker.js';
import { createClient } from '../../src/client/client.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/index.js';
import { CircuitBreaker } from '../../src/resilience/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const seconds = arg('seconds', 3);
const rounds = arg('rounds', 5);
const payloadBytes = arg('payload', 100);
const TOPIC = 'overhead';
const PARTITIONS = 4;

type Variant = 'on' | 'off';

interface RoundResult {
  messagesPerSecond: number;
  probeMsMax: number | null;
}

async function runRound(variant: Variant, root: string, round: number): Promise<RoundResult> {
  const dataDir = join(root, `${variant}-${round}`);
  const logFile = join(root, `${variant}-${round}.log`);
  const config = loadConfig({
    env: {},
    overrides: {
      'broker.data_dir': dataDir,
      'broker.listen': '127.0.0.1:0',
      'health.http.bind_address': '127.0.0.1',
      'health.http.port': 0,
      ...(variant === 'off'
        ? { 'metrics.enabled': false, 'health.http.enabled': false, 'logging.level': 'silent' }
        : {}),
    },
  });
  // Logging "on" is the default level writing JSON to a file: what a production broker pays.
  const logger = createLogger({ level: config.logging.level, format: 'json', output: logFile });
  const broker = await Broker.start(config, { logger });
  const bootstrap = `${broker.addresses.host}:${broker.addresses.port}`;
  const client = createClient({ bootstrap: [bootstrap], clientId: `overhead-${variant}` });
  const value = Buffer.alloc(payloadBytes, 0x61);
  let probeMsMax: number | null = null;
  try {
    await client
      .admin()
      .createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1, configs: {} });
    const producer = client.producer({ acks: 1 });
    const produceFor = async (ms: number): Promise<number> => {
      let sent = 0;
      const until = performance.now() + ms;
      const inFlight = new Set<Promise<unknown>>();
      while (performance.now() < until) {
        const messages = Array.from({ length: 100 }, () => ({ value }));
        const p: Promise<unknown> = producer.send({ topic: TOPIC, messages }).then(() => inFlight.delete(p));
        inFlight.add(p);
        sent += messages.length;
        if (inFlight.size >= 64) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      return sent;
    };
    await produceFor(500); // warm-up: JIT, first segments, connections
    const probes =
      variant === 'on' && broker.addresses.httpPort !== null ? probeLoop(broker.addresses.httpPort) : null;
    const started = performance.now();
    const sent = await produceFor(seconds * 1000);
    const elapsedS = (performance.now() - started) / 1000;
    if (probes !== null) probeMsMax = await probes.stop();
    await producer.close();
    return { messagesPerSecond: sent / elapsedS, probeMsMax };
  } finally {
    await client.close();
    await broker.shutdown('bench');
    logger.flush();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Scrapes /health/ready and /metrics every 250 ms (as a kubelet and Prometheus would) and times them. */
function probeLoop(port: number): { stop(): Promise<number> } {
  let running = true;
  let maxMs = 0;
  const loop = (async () => {
    while (running) {
      for (const path of ['/health/ready', '/metrics']) {
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        await res.text();
        maxMs = Math.max(maxMs, performance.now() - t0);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return maxMs;
    },
  };
}

/**
 * Microseconds per breaker decision: `call` around a function that resolves at once, minus the same
 * function called bare, over `n` calls; closed (admitted) and open (rejected without calling).
 */
async function breakerDecisionMicros(n: number): Promise<{ closed: number; open: number }> {
  const noop = (): Promise<number> => Promise.resolve(1);
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn().catch(() => undefined);
    return ((performance.now() - t0) * 1000) / n;
  };
  const closed = new CircuitBreaker({ name: 'bench-closed' });
  const open = new CircuitBreaker({ name: 'bench-open', failureThreshold: 1 });
  await open.call(undefined, () => Promise.reject(new Error('trip'))).catch(() => undefined);
  if (open.state() !== 'open') throw new Error('bench breaker did not open');
  await time(noop); // warm-up
  const bare = await time(noop);
  const closedUs = await time(() => closed.call(undefined, noop));
  const openUs = await time(() => open.call(undefined, noop));
  return { closed: Math.max(0, closedUs - bare), open: Math.max(0, openUs - bare) };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'overhead-bench-'));
  const results: Record<Variant, number[]> = { on: [], off: [] };
  const probeMax: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first so drift (thermal, page cache) does not favour one side.
      const order: Variant[] = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      for (const variant of order) {
        const r = await runRound(variant, root, round);
        results[variant].push(r.messagesPerSecond);
        if (r.probeMsMax !== null) probeMax.push(r.probeMsMax);
        process.stderr.write(
          `round ${round + 1}/${rounds} ${variant.padEnd(3)} ${Math.round(r.messagesPerSecond)} msg/s` +
            `${r.probeMsMax === null ? '' : `  (probe max ${r.probeMsMax.toFixed(1)} ms)`}\n`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const breaker = await breakerDecisionMicros(200_000);
  const on = median(results.on);
  const off = median(results.off);
  // Throughput drifts between rounds (page cache, CPU frequency); each round's on/off pair ran back to
  // back, so the median of the paired ratios is the steadier estimate.
  const pairedRatio = median(results.on.map((x, i) => x / (results.off[i] ?? x)));
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      rounds,
      payload_bytes: payloadBytes,
      off_msgs_per_s: Math.round(off),
      on_msgs_per_s: Math.round(on),
      ratio_on_over_off: Number((on / off).toFixed(4)),
      overhead_pct: Number(((1 - on / off) * 100).toFixed(2)),
      paired_ratio_median: Number(pairedRatio.toFixed(4)),
      paired_overhead_pct: Number(((1 - pairedRatio) * 100).toFixed(2)),
      rounds_on_msgs_per_s: results.on.map(Math.round),
      rounds_off_msgs_per_s: results.off.map(Math.round),
      breaker_decision_us_closed: Number(breaker.closed.toFixed(3)),
      breaker_decision_us_open: Number(breaker.open.toFixed(3)),
      health_metrics_probe_max_ms: probeMax.length === 0 ? null : Number(Math.max(...probeMax).toFixed(1)),
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `overhead-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
