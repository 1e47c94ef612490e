/**
 * `npm run bench:failover [-- --kills N --seed S --partitions P --interval-ms MS --host-prefix a.b.c]`:
 * how long a partition is unwritable after its leader is killed. Starts a 3-broker cluster with the chaos
 * harness, creates a topic (replication factor 3, min_insync_replicas 2) and runs one idempotent acks=all
 * SDK producer that issues a timestamped one-message send to every partition each interval, whatever is
 * still in flight (so a send is always issued right after a kill, not after the stuck ones finish).
 * N times: read the partition leader from fresh metadata, note t0, SIGKILL that broker's process, and take
 * the time from t0 to the first acknowledgement of a send issued at or after t0; then restart the broker,
 * wait until every partition has a leader and a full ISR and the leaders have not moved for --quiet-ms, then
 * 0-1 s more. Before each kill the broker metadata names is asked whether it serves the partition (only
 * the Raft leader reports its offsets in DescribeTopics); if not, metadata is read again instead (counted
 * in `not_leader_skips`): a kill of a follower would measure nothing. Other flags: --ack-wait-ms
 * (30000), --keep-logs (keep the broker logs in the printed dir). Prints one line per kill, then one JSON
 * summary line (the last line of stdout).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Connection } from '../../src/client/connection.js';
import { createClient, isStreamBusError, type Producer, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import type { MetadataResponse } from '../../src/protocol/messages.js';
import { Cleanup } from '../harness/cleanup.js';
import { type Clock, runClock, sleep } from '../harness/clock.js';
import { BrokerCluster } from '../harness/cluster.js';
import { leadersByPartition, waitAllReady } from '../harness/cluster-state.js';
import { seededRandom } from '../nemesis/plan.js';

/**
 * Whether `node` serves `partition` right now: only a partition's Raft leader reports its offsets in
 * DescribeTopics (the others answer -1). False when it cannot be asked.
 */
async function servesPartition(
  node: { readonly host: string; readonly port: number },
  topic: string,
  partition: number,
): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ host: node.host, port: node.port, clientId: 'failover-bench' });
    const res = await connection.request(ApiKey.DescribeTopics, { topics: [topic] });
    const p = res.topics[0]?.partitions.find((x) => x.partition === partition);
    return p !== undefined && p.highWatermark >= 0;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** One send of the probe producer; times on the bench clock. */
export interface SendRecord {
  partition: number;
  issuedMs: number;
  ackedMs: number | null;
  failed: boolean;
}

/**
 * Time from `t0Ms` to the earliest acknowledgement of a send to `partition` issued at or after `t0Ms`;
 * null while none has been acknowledged. Sends issued before t0 do not count: one may have reached the old
 * leader (and its followers) before the kill. Pure.
 */
export function failoverMs(sends: Iterable<SendRecord>, partition: number, t0Ms: number): number | null {
  let first: number | null = null;
  for (const s of sends) {
    if (s.partition !== partition || s.issuedMs < t0Ms || s.ackedMs === null) continue;
    if (first === null || s.ackedMs < first) first = s.ackedMs;
  }
  return first === null ? null : first - t0Ms;
}

/** Nearest-rank percentile (q in (0, 1]) of ascending samples; null for none. Pure. */
export function percentile(ascending: readonly number[], q: number): number | null {
  if (ascending.length === 0) return null;
  const rank = Math.max(1, Math.ceil(q * ascending.length));
  return ascending[Math.min(rank, ascending.length) - 1] ?? null;
}

export interface FailoverSummary {
  kills: number;
  /** Kills after which no send issued after the kill was acknowledged within the wait. */
  unacked: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  min_ms: number | null;
  mean_ms: number | null;
}

/**
 * Percentiles over all kills; a kill that never saw an ack counts as slower than any measured one, so it
 * pushes the percentiles up (to null when it lands on them) rather than vanishing. Pure.
 */
export function summarize(samples: readonly (number | null)[]): FailoverSummary {
  const measured = samples.filter((s): s is number => s !== null).sort((a, b) => a - b);
  const all = [...measured, ...samples.filter((s) => s === null).map(() => Number.POSITIVE_INFINITY)];
  const at = (q: number): number | null => {
    const v = percentile(all, q);
    return v === null || !Number.isFinite(v) ? null : round1(v);
  };
  const mean = measured.length === 0 ? null : measured.reduce((a, b) => a + b, 0) / measured.length;
  return {
    kills: samples.length,
    unacked: samples.length - measured.length,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: at(1),
    min_ms: measured.length === 0 ? null : round1(measured[0]!),
    mean_ms: mean === null ? null : round1(mean),
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Every partition has a leader and a full ISR (the restarted broker has caught up). Pure. */
export function fullyInSync(md: MetadataResponse, topic: string, partitions: number): boolean {
  const t = md.topics.find((x) => x.name === topic);
  if (t === undefined || t.error !== null || t.partitions.length !== partitions) return false;
  return t.partitions.every(
    (p) => p.error === null && p.leaderId >= 0 && p.replicas.length > 0 && p.isr.length === p.replicas.length,
  );
}

/** Issues one send per partition every `intervalMs`, keeping at most `inFlightMax` unsettled. */
class PacedSender {
  readonly sends: SendRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<Promise<void>>();
  skipped = 0;
  failures = 0;
  lastError = '';

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly inFlightMax: number,
    private readonly onFailure: (rec: SendRecord, code: string) => void,
  ) {}

  start(): void {
    const value = Buffer.alloc(100, 0x61);
    this.timer = setInterval(() => {
      for (let partition = 0; partition < this.partitions; partition++) {
        if (this.pending.size >= this.inFlightMax) {
          this.skipped++;
          continue;
        }
        const rec: SendRecord = { partition, issuedMs: this.clock.nowMs(), ackedMs: null, failed: false };
        this.sends.push(rec);
        const p: Promise<void> = this.producer
          .send({ topic: this.topic, messages: [{ value, partition }] })
          .then(
            () => {
              rec.ackedMs = this.clock.nowMs();
            },
            (err: unknown) => {
              rec.failed = true;
              this.failures++;
              this.lastError = isStreamBusError(err) ? `${err.code}: ${err.message}` : String(err);
              this.onFailure(rec, this.lastError);
            },
          )
          .finally(() => this.pending.delete(p));
        this.pending.add(p);
      }
    }, this.intervalMs);
  }

  /** Forgets settled records issued before `ms` (keeps memory flat over a long run). */
  forgetBefore(ms: number): void {
    let keep = 0;
    for (const s of this.sends)
      if (s.issuedMs >= ms || (s.ackedMs === null && !s.failed)) this.sends[keep++] = s;
    this.sends.length = keep;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.pending]);
  }
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
  return v;
}

function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Lines of a broker log at warn level or worse, plus the last few lines: what to keep from a bad kill. */
function logExcerpt(path: string, linesMax = 25): string {
  try {
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    const bad = lines.filter((l) => /"level":(40|50|60)/.test(l)).slice(-linesMax);
    return [...bad, '...', ...lines.slice(-10)].join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

async function main(): Promise<void> {
  const kills = arg('kills', 20);
  const seed = arg('seed', 1);
  const partitions = Math.max(1, arg('partitions', 1));
  const intervalMs = Math.max(1, arg('interval-ms', 10));
  const quietMs = arg('quiet-ms', 2000);
  const ackWaitMs = arg('ack-wait-ms', 30_000);
  // Not 127.0.1 or 127.0.2: chaos tests running at the same time put nft drop rules there.
  const hostPrefix = argString('host-prefix', '127.0.3');
  const keepLogs = process.argv.includes('--keep-logs');
  const topic = 'failover';
  const random = seededRandom(seed);
  const clock = runClock();
  const log = (m: string): void => console.log(`${(clock.nowMs() / 1000).toFixed(1).padStart(7)} s  ${m}`);

  const root = mkdtempSync(join(tmpdir(), 'failover-bench-'));
  const cleanup = new Cleanup();
  const removeHandlers = cleanup.installExitHandlers();
  cleanup.add({
    name: 'remove bench dir',
    run: async () => {
      if (keepLogs) rmSync(join(root, 'work'), { recursive: true, force: true });
      else rmSync(root, { recursive: true, force: true });
    },
    runSync: () => rmSync(keepLogs ? join(root, 'work') : root, { recursive: true, force: true }),
  });
  const clients: StreamBusClient[] = [];
  let sender: PacedSender | null = null;
  const samples: (number | null)[] = [];
  const perKill: {
    kill: number;
    node: number;
    pid: number | null;
    partition: number;
    controller: boolean;
    ms: number | null;
    metadataMs: number | null;
  }[] = [];
  try {
    const cluster = await BrokerCluster.start({
      nodes: 3,
      replicated: true,
      // Brokers talk directly, as in production and in the results recorded before the chaos peer proxies.
      peerProxies: false,
      hostPrefix,
      workDir: join(root, 'work'),
      logDir: root,
      tmpfsSizeMb: null,
      cleanup,
      random,
      onUnexpectedExit: (node, code, signal) =>
        log(`WARNING node-${node} exited without being asked (code ${code}, signal ${signal})`),
    });
    await waitAllReady(cluster, clock, 60_000);
    log(`cluster of 3 ready on ${cluster.brokerAddresses.join(' ')}; logs in ${root}`);
    const adminClient = createClient({
      bootstrap: cluster.bootstrap,
      clientId: 'failover-bench-admin',
      requestTimeoutMs: 2000,
      connectTimeoutMs: 1000,
      reconnectBackoffMaxMs: 300,
    });
    clients.push(adminClient);
    const admin = adminClient.admin();
    const metadata = async (): Promise<MetadataResponse | null> => {
      try {
        return await admin.metadata([topic]);
      } catch {
        return null;
      }
    };
    const waitInSync = async (timeoutMs: number): Promise<void> => {
      const deadline = clock.nowMs() + timeoutMs;
      for (;;) {
        const md = await metadata();
        if (md !== null && fullyInSync(md, topic, partitions)) return;
        if (clock.nowMs() > deadline)
          throw new Error(`topic ${topic} not fully in sync after ${timeoutMs} ms`);
        await sleep(100);
      }
    };
    /** Waits until the partitions' leaders and epochs have not changed (and ISRs stayed full) for `stableMs`. */
    const waitStableLeaders = async (stableMs: number, timeoutMs: number): Promise<void> => {
      const deadline = clock.nowMs() + timeoutMs;
      let last = '';
      let since = clock.nowMs();
      for (;;) {
        const md = await metadata();
        const parts = md?.topics.find((t) => t.name === topic)?.partitions ?? [];
        const key =
          md !== null && fullyInSync(md, topic, partitions)
            ? parts.map((p) => `${p.partition}:${p.leaderId}:${p.leaderEpoch}`).join(',')
            : 'unsettled';
        if (key !== last || key === 'unsettled') {
          last = key;
          since = clock.nowMs();
        } else if (clock.nowMs() - since >= stableMs) return;
        if (clock.nowMs() > deadline) throw new Error(`leaders of ${topic} not stable after ${timeoutMs} ms`);
        await sleep(100);
      }
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.createTopic({
          name: topic,
          partitions,
          replicationFactor: 3,
          configs: { min_insync_replicas: '2' },
        });
        break;
      } catch (err) {
        if (isStreamBusError(err) && err.code === 'TOPIC_ALREADY_EXISTS') break;
        if (attempt >= 60) throw err;
        await sleep(500);
      }
    }
    await waitInSync(60_000);
    await waitStableLeaders(quietMs, 60_000);

    // The SDK's defaults apart from a quick retry schedule: what an application tuned for failover runs.
    const producerClient = createClient({ bootstrap: cluster.bootstrap });
    clients.push(producerClient);
    const producer = producerClient.producer({
      acks: -1,
      lingerMs: 0,
      retries: 100,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 100,
    });
    sender = new PacedSender(producer, topic, partitions, clock, intervalMs, 2000, (rec, code) =>
      log(`send to p${rec.partition} issued at ${(rec.issuedMs / 1000).toFixed(3)} s failed: ${code}`),
    );
    sender.start();
    const warm = clock.nowMs();
    while ([...Array(partitions).keys()].some((p) => failoverMs(sender!.sends, p, warm) === null)) {
      if (clock.nowMs() - warm > 30_000) throw new Error('no acknowledged send within 30 s of starting');
      await sleep(50);
    }
    log(`producer acknowledged on all ${partitions} partition(s); ${kills} kills follow (seed ${seed})`);

    let notLeaderSkips = 0;
    for (let k = 1; k <= kills; ) {
      const partition = Math.floor(random() * partitions);
      const md = await metadata();
      const leader =
        md === null
          ? undefined
          : leadersByPartition(md, topic, (id) => cluster.indexOfBroker(id)).get(partition);
      if (leader === undefined) throw new Error(`kill ${k}: no leader of partition ${partition} in metadata`);
      const node = cluster.node(leader);
      if (!(await servesPartition(node, topic, partition))) {
        if (++notLeaderSkips > 10 * kills)
          throw new Error(`metadata named a broker that was not the leader ${notLeaderSkips} times`);
        await sleep(100);
        continue;
      }
      const pid = node.pid;
      // Killing the metadata leader too means two elections in a row before the new leader is published.
      const controller = md?.controllerId === leader + 1;
      sender.forgetBefore(clock.nowMs() - 1000);
      const failuresBefore = sender.failures;
      const t0 = clock.nowMs();
      const t0Wall = new Date().toISOString().slice(11, 23); // to find the kill in the broker logs
      await node.kill(); // SIGKILL to the broker's pid
      // Diagnostic, alongside: when metadata first names a live leader (what clients wait for).
      let published: { ms: number; leaderId: number } | null = null;
      const watching = (async () => {
        while (published === null && clock.nowMs() - t0 < ackWaitMs) {
          const now = await metadata();
          const p = now?.topics
            .find((t) => t.name === topic)
            ?.partitions.find((x) => x.partition === partition);
          if (p !== undefined && p.leaderId >= 0 && p.leaderId !== leader + 1)
            published = { ms: clock.nowMs() - t0, leaderId: p.leaderId };
          else await sleep(20);
        }
      })();
      let ms: number | null = null;
      while (clock.nowMs() - t0 < ackWaitMs) {
        ms = failoverMs(sender.sends, partition, t0);
        if (ms !== null) break;
        await sleep(5);
      }
      await watching;
      const seen = published as { ms: number; leaderId: number } | null;
      samples.push(ms);
      perKill.push({ kill: k, node: leader, pid, partition, controller, ms, metadataMs: seen?.ms ?? null });
      const failed = sender.failures - failuresBefore;
      log(
        `kill ${String(k).padStart(2)}/${kills}: node-${leader} (broker ${leader + 1}, pid ${pid}) led p${partition}` +
          ` (killed ${t0Wall})` +
          `${controller ? ' and the metadata quorum' : ''}; ` +
          `${ms === null ? `NO ACK within ${ackWaitMs} ms` : `first ack after ${ms.toFixed(1)} ms`}; ` +
          (seen === null
            ? 'metadata never named a new leader'
            : `metadata named broker ${seen.leaderId} after ${seen.ms.toFixed(0)} ms`) +
          (failed > 0 ? `; ${failed} sends failed (${sender.lastError})` : ''),
      );
      if (ms === null)
        for (const n of cluster.nodes)
          if (n !== node) log(`log excerpt node-${n.id}:\n${logExcerpt(join(root, `node-${n.id}.log`))}`);
      await node.start();
      const restartedMs = clock.nowMs();
      await waitAllReady(cluster, clock, 60_000);
      await waitInSync(120_000);
      log(
        `  node-${leader} back (pid ${node.pid}), ISR full after ${(clock.nowMs() - restartedMs).toFixed(0)} ms`,
      );
      // A rejoined broker gets its preferred leadership back: let those moves finish before the next kill.
      await waitStableLeaders(quietMs, 60_000);
      await sleep(random() * 1000);
      k++;
    }
    await sender.stop();
    const summary = {
      bench: 'failover',
      ...summarize(samples),
      partitions,
      interval_ms: intervalMs,
      seed,
      send_failures: sender.failures,
      sends_skipped: sender.skipped,
      last_send_error: sender.lastError === '' ? null : sender.lastError,
      not_leader_skips: notLeaderSkips,
      controller_kills: perKill.filter((p) => p.controller).length,
      max_ms_partition_leader_only: summarize(perKill.filter((p) => !p.controller).map((p) => p.ms)).max_ms,
      per_kill_ms: perKill.map((p) => (p.ms === null ? null : round1(p.ms))),
      per_kill_metadata_ms: perKill.map((p) => (p.metadataMs === null ? null : Math.round(p.metadataMs))),
    };
    console.log(JSON.stringify(summary));
  } finally {
    await sender?.stop();
    await Promise.allSettled(clients.map((c) => c.close()));
    await cleanup.runAll((m) => console.error(m));
    removeHandlers();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    process.exit(1);
  });
}
