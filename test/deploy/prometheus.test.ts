/**
 * deploy/prometheus: the scrape configs and alert rules pass promtool, every alert fires on the situation
 * it describes (promtool unit tests), every metric an alert names exists in the broker, and a real
 * Prometheus server using our scrape job and rules scrapes a real broker and answers a query about it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker-process.js';
import { DEPLOY, get, getArray, getObject, isObject, type Json } from './manifests.js';
import { metricSelectors, unknownMetricProblem } from './promql-names.js';
import { freePort, hasTool, waitFor, warnMissing } from './tools.js';

const PROM_DIR = join(DEPLOY, 'prometheus');
const hasPromtool = hasTool('promtool');
const hasPrometheus = hasTool('prometheus');
if (!hasPromtool) warnMissing('promtool', 'prometheus', 'promtool checks of deploy/prometheus');
if (!hasPrometheus) warnMissing('prometheus', 'prometheus', 'live Prometheus scrape of a broker');

function readYaml(file: string): Json {
  return parseYaml(readFileSync(file, 'utf8')) as Json;
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: PROM_DIR });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function alertRules(): { alert: string; expr: string }[] {
  return getArray(readYaml(join(PROM_DIR, 'alerts.yml')), 'groups').flatMap((g) =>
    getArray(g, 'rules').map((r) => ({ alert: String(get(r, 'alert')), expr: String(get(r, 'expr')) })),
  );
}

describe('alert rules', () => {
  test('cover the failures operators must hear about', () => {
    const names = alertRules().map((r) => r.alert);
    for (const required of [
      'StreamBusBrokerDown',
      'StreamBusNoMetadataLeader',
      'StreamBusUnderReplicatedPartitions',
      'StreamBusConsumerLagGrowing',
      'StreamBusCircuitBreakerOpen',
      'StreamBusDiskFilling',
      'StreamBusDiskAlmostFull',
      'StreamBusRequestErrors',
    ]) {
      expect(names).toContain(required);
    }
  });

  test('every metric and label an alert names exists in metric-names.ts', () => {
    for (const rule of alertRules()) {
      const selectors = metricSelectors(rule.expr);
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      for (const selector of selectors) expect(unknownMetricProblem(selector), rule.alert).toBeUndefined();
    }
  });

  test.skipIf(!hasPromtool)('pass `promtool check rules`', () => {
    const r = promtool('check', 'rules', 'alerts.yml');
    expect(r.status, r.output).toBe(0);
  });

  test.skipIf(!hasPromtool)(
    'fire on what they describe and not on the healthy twin (`promtool test rules`)',
    () => {
      const r = promtool('test', 'rules', join(import.meta.dirname, 'alerts.rules-test.yml'));
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS');
    },
  );
});

describe.skipIf(!hasPromtool)('scrape configs pass `promtool check config`', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('streambus-promcfg-');
  });
  afterAll(() => removeDir(dir));

  test('prometheus.yml (file discovery, for VMs and systemd)', () => {
    const r = promtool('check', 'config', 'prometheus.yml');
    expect(r.status, r.output).toBe(0);
  });

  test('prometheus-kubernetes.yml, with Kubernetes discovery swapped for static targets', () => {
    // Debian builds Prometheus without Kubernetes discovery; everything else in the job is checked.
    const config = readYaml(join(PROM_DIR, 'prometheus-kubernetes.yml'));
    const jobs = getArray(config, 'scrape_configs');
    for (const job of jobs) {
      if (!isObject(job)) throw new Error('scrape config is not a mapping');
      expect(getArray(job, 'kubernetes_sd_configs').length).toBeGreaterThan(0);
      delete job.kubernetes_sd_configs;
      job.static_configs = [{ targets: ['127.0.0.1:8080'] }];
    }
    copyFileSync(join(PROM_DIR, 'alerts.yml'), join(dir, 'alerts.yml'));
    writeFileSync(join(dir, 'prometheus.yml'), stringifyYaml(config));
    const r = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});

describe.skipIf(!hasPrometheus)('a real Prometheus scrapes a real broker with our job and rules', () => {
  let broker: BrokerProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusExited: Promise<void> = Promise.resolve();
  const prometheusLogs: string[] = [];
  let dir = '';
  let api = '';

  beforeAll(async () => {
    requireDist();
    dir = tempDir('streambus-prometheus-');
    broker = await startBroker();
    // Our prometheus.yml, with the broker as a static target and a 1 s scrape so the test is quick.
    const config = readYaml(join(PROM_DIR, 'prometheus.yml'));
    if (!isObject(config)) throw new Error('prometheus.yml is not a mapping');
    config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    config.rule_files = [join(PROM_DIR, 'alerts.yml')];
    const job = getObject(config, 'scrape_configs', 0);
    delete job.file_sd_configs;
    job.scrape_timeout = '1s';
    job.static_configs = [{ targets: [`127.0.0.1:${broker.httpPort}`] }];
    writeFileSync(join(dir, 'prometheus.yml'), stringifyYaml(config));
    mkdirSync(join(dir, 'data'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v1`;
    const child = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus = child;
    prometheusExited = new Promise((res) => child.once('exit', () => res()));
    child.stdout?.on('data', (b: Buffer) => prometheusLogs.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => prometheusLogs.push(b.toString()));
  });

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await prometheusExited;
    }
    if (broker !== undefined) {
      await broker.stop();
      removeDir(broker.dataDir);
    }
    if (dir !== '') removeDir(dir);
  });

  async function query(
    promql: string,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data?: { result?: unknown } };
    if (body.status !== 'success' || !Array.isArray(body.data?.result)) throw new Error(JSON.stringify(body));
    return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
  }

  test('messages produced to the broker are counted in Prometheus, with our relabelled instance', async () => {
    const client = createClient({ bootstrap: broker?.bootstrap ?? '', clientId: 'prometheus-test' });
    try {
      await client.admin().createTopic({ name: 'scraped', partitions: 1 });
      await client.producer().send({
        topic: 'scraped',
        messages: Array.from({ length: 7 }, (_, i) => ({ value: `m${i}` })),
      });
    } finally {
      await client.close();
    }
    const up = await waitFor(
      `up{job="streambus"} == 1 (prometheus logs: ${prometheusLogs.join('').slice(-2000)})`,
      async () => {
        const r = await query('up{job="streambus"} == 1');
        return r.length === 1 ? r[0] : undefined;
      },
      20_000,
    );
    expect(up?.metric.instance).toBe('127.0.0.1');
    const counted = await waitFor(
      'streambus_messages_in_total for topic scraped',
      async () => {
        const r = await query('streambus_messages_in_total{job="streambus", topic="scraped"}');
        return r[0]?.value[1] === '7' ? r[0] : undefined;
      },
      20_000,
    );
    expect(counted?.metric.topic).toBe('scraped');
  });

  test('Prometheus loaded every alert rule and none of them fires on a healthy broker', async () => {
    const res = await fetch(`${api}/rules?type=alert`);
    const body = (await res.json()) as {
      data: { groups: { rules: { name: string; health: string; state: string }[] }[] };
    };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(
      alertRules()
        .map((r) => r.alert)
        .sort(),
    );
    // Give the rules a few evaluations against live data; an expression error shows as health "err".
    await new Promise((r) => setTimeout(r, 2_000));
    const again = (await (await fetch(`${api}/rules?type=alert`)).json()) as typeof body;
    for (const rule of again.data.groups.flatMap((g) => g.rules)) {
      expect(rule.health, rule.name).not.toBe('err');
      // Disk alerts depend on this machine's free space, not on the broker; they cannot fire in 2 s.
      if (/Disk|NotReady/.test(rule.name)) expect(rule.state, rule.name).not.toBe('firing');
      else expect(rule.state, rule.name).toBe('inactive');
    }
  });
});
