/**
 * /metrics of a real three-broker cluster: every metric the hardening spec names has a sample (not only its
 * `# TYPE` line) with the right type once the cluster serves traffic, except the ones that legitimately have
 * none yet; and when the metadata quorum is lost, the surviving broker's `metadata` circuit breaker opens,
 * which shows in circuitbreaker_state and circuitbreaker_state_changes_total and in a warn log line.
 * Needs `npm run build` first (the tests spawn dist/cmd/streambus.js).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker-process.js';
import {
  agreedLeader,
  allSeeAlive,
  HOST,
  startThreeBrokerCluster,
  until,
} from '../helpers/cluster-processes.js';
import { SPEC_METRICS } from '../helpers/spec-metrics.js';

/**
 * Labelled metrics get a series only at their first event, and in a healthy, freshly started cluster these
 * events need not happen: the coordinator counts a rebalance only when it executes a plan (a new cluster with
 * one evenly placed topic may never need one), and a breaker that never changed state has no transition.
 * Every other spec metric has no labels (always a sample) or is fed by the heartbeats and topic creation.
 */
const MAY_HAVE_NO_SAMPLE = new Set(['cluster_rebalances_total', 'circuitbreaker_state_changes_total']);

const TOPIC = 'scraped';
const BREAKER_FAILURES = 2;

async function scrape(b: BrokerProcess): Promise<string> {
  const res = await fetch(`http://${HOST}:${b.httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
  expect(res.status).toBe(200);
  return res.text();
}

/** Sample lines of `name` (its _bucket/_sum/_count lines for a histogram). */
function sampleLines(text: string, name: string, type: string): string[] {
  const names = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
  return text
    .split('\n')
    .filter((line) => names.some((n) => line.startsWith(`${n}{`) || line.startsWith(`${n} `)));
}

/** The value of the first sample line `name{...}` whose labels contain every fragment. */
function sample(text: string, name: string, ...fragments: string[]): number | undefined {
  for (const line of sampleLines(text, name, 'gauge')) {
    const labels = line.slice(name.length, line.lastIndexOf(' '));
    if (fragments.every((f) => labels.includes(f))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics of a three-broker cluster', () => {
  const dirs = [tempDir('streambus-mx-1-'), tempDir('streambus-mx-2-'), tempDir('streambus-mx-3-')];
  const running: BrokerProcess[] = [];
  let client: StreamBusClient | undefined;

  afterAll(async () => {
    await client?.close();
    // Each process by its own handle (its PID), never by pattern.
    await Promise.all(running.map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });

  it('has a sample of every spec metric, and the metadata breaker opens (metric and log) when the quorum is lost', async () => {
    running.push(
      ...(await startThreeBrokerCluster(dirs, {
        STREAMBUS_RESILIENCE_CIRCUIT_BREAKER_FAILURE_THRESHOLD: String(BREAKER_FAILURES),
      })),
    );
    const leaderId = await until('a metadata leader all three agree on', () => agreedLeader(running));
    await until('three alive brokers', () => allSeeAlive(running, 3));
    const leader = running[leaderId - 1] as BrokerProcess;

    client = createClient({ bootstrap: [leader.bootstrap], clientId: 'cluster-metrics-test' });
    await client.admin().createTopic({ name: TOPIC, partitions: 3, replicationFactor: 3, configs: {} });
    const producer = client.producer({ lingerMs: 0 });
    await until('a produce to every partition', async () => {
      try {
        await producer.send({
          topic: TOPIC,
          messages: [0, 1, 2].map((partition) => ({ value: 'x'.repeat(100), partition })),
        });
        return true;
      } catch {
        return undefined; // partition leaders still being elected
      }
    });
    await producer.close();

    // The metadata leader runs the coordinator, so it is the broker with every cluster_* gauge set. Asked
    // anew each time: an election under load may have moved it since the look-up above.
    const text = await until('the coordinator gauges on the metadata leader', async () => {
      const now = await agreedLeader(running);
      if (now === undefined) return undefined;
      const t = await scrape(running[now - 1] as BrokerProcess);
      return sample(t, 'cluster_brokers_active') === 3 && sample(t, 'cluster_partitions_total') === 3
        ? t
        : undefined;
    });
    for (const [name, type] of Object.entries(SPEC_METRICS)) {
      expect(text, name).toContain(`# TYPE ${name} ${type}\n`);
      if (!MAY_HAVE_NO_SAMPLE.has(name)) expect(sampleLines(text, name, type), name).not.toEqual([]);
    }
    expect(sample(text, 'raft_peers_count')).toBe(3);
    expect(sample(text, 'metadata_brokers_count')).toBe(3);
    expect(sample(text, 'metadata_partitions_count')).toBe(3);
    expect(sample(text, 'raft_proposals_total')).toBeGreaterThan(0);
    expect(sample(text, 'metadata_operations_total', 'status="success"')).toBeGreaterThan(0);
    // The metadata store's breaker is bound: closed, and every heartbeat went through it.
    expect(sample(text, 'circuitbreaker_state', 'name="metadata"')).toBe(0);
    expect(
      sample(text, 'circuitbreaker_requests_total', 'name="metadata"', 'result="success"'),
    ).toBeGreaterThan(0);
    // Every broker holds a replica of every partition: the log size is there, per topic.
    for (const b of running) {
      expect(sample(await scrape(b), 'streambus_log_size_bytes', `topic="${TOPIC}"`)).toBeGreaterThan(300);
    }
    // Nothing written any more: every partition group goes quiet on every broker (RaftCore.quiesce over the
    // real transport's liveness), and the metadata group, which never does, is not counted.
    for (const b of running) {
      await until(`broker on port ${b.port}: its 3 partition replicas quiet`, async () =>
        sample(await scrape(b), 'streambus_partition_replicas_quiescent') === 3 ? true : undefined,
      );
    }

    // Lose the quorum: the survivor's heartbeats time out (3 s per attempt) until the breaker opens.
    const survivor = running.find((b) => b !== leader) as BrokerProcess;
    await Promise.all(running.filter((b) => b !== survivor).map((b) => b.kill()));
    const opened = await until(
      'the metadata breaker to open on the survivor',
      async () => {
        const t = await scrape(survivor);
        return sample(t, 'circuitbreaker_state', 'name="metadata"') === 1 ? t : undefined;
      },
      30_000,
      200,
    );
    expect(
      sample(opened, 'circuitbreaker_state_changes_total', 'name="metadata"', 'from="closed"', 'to="open"'),
    ).toBe(1);
    expect(
      sample(opened, 'circuitbreaker_requests_total', 'name="metadata"', 'result="failure"'),
    ).toBeGreaterThanOrEqual(BREAKER_FAILURES);
    const logged = survivor.logs
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.msg === 'circuit breaker metadata opened');
    expect(logged).toMatchObject({
      component: 'metadata',
      operation: 'circuit_breaker.transition',
      breaker: 'metadata',
      from: 'closed',
      to: 'open',
    });
  }, 60_000);
});
