/**
 * deploy/grafana/streambus-dashboard.json: a well-formed dashboard whose every query names metrics (and
 * labels) the broker exports, covering throughput, latency, storage, replication, groups, Raft and
 * breakers; with promtool present, every query is also valid PromQL.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { DEPLOY, get, getArray, isObject, type Json } from './manifests.js';
import { metricSelectors, unknownMetricProblem } from './promql-names.js';
import { hasTool, warnMissing } from './tools.js';

const dashboard = JSON.parse(
  readFileSync(join(DEPLOY, 'grafana', 'streambus-dashboard.json'), 'utf8'),
) as Json;
/** Grafana's data source variable reference, literally (not a JS template). */
const GRAFANA_DATASOURCE_VARIABLE = ['$', '{datasource}'].join('');
const hasPromtool = hasTool('promtool');
if (!hasPromtool) warnMissing('promtool', 'prometheus', 'PromQL syntax check of the Grafana dashboard');

interface Query {
  readonly where: string;
  readonly expr: string;
}

function panels(): Json[] {
  // Collapsed rows keep their panels inside the row.
  return getArray(dashboard, 'panels').flatMap((p) => {
    const nested = get(p, 'panels');
    return [p, ...(Array.isArray(nested) ? nested : [])];
  });
}

function panelQueries(): Query[] {
  return panels()
    .filter((p) => get(p, 'type') !== 'row')
    .flatMap((p) =>
      getArray(p, 'targets').map((t) => ({
        where: `panel "${String(get(p, 'title'))}"`,
        expr: String(get(t, 'expr')),
      })),
    );
}

function variableQueries(): Query[] {
  return getArray(dashboard, 'templating', 'list')
    .filter((v) => get(v, 'type') === 'query')
    .map((v) => ({ where: `variable $${String(get(v, 'name'))}`, expr: String(get(v, 'query', 'query')) }));
}

/** label_values(selector, label) -> selector; dashboard variables -> values PromQL accepts. */
function toPromql(expr: string): string {
  const labelValues = /^label_values\((.*),\s*\w+\)$/.exec(expr.trim());
  return (labelValues?.[1] ?? expr)
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\w+/g, 'x');
}

describe('Grafana dashboard', () => {
  test('has unique panel ids, a grid position and a Prometheus data source on every panel', () => {
    const ids = panels().map((p) => get(p, 'id'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels()) {
      expect(isObject(get(p, 'gridPos') ?? null), String(get(p, 'title'))).toBe(true);
      if (get(p, 'type') === 'row') continue;
      expect(get(p, 'datasource', 'uid')).toBe(GRAFANA_DATASOURCE_VARIABLE);
      expect(getArray(p, 'targets').length).toBeGreaterThan(0);
    }
  });

  test('every metric and label a query names exists in metric-names.ts (or is a default process metric)', () => {
    for (const q of [...panelQueries(), ...variableQueries()]) {
      const selectors = metricSelectors(toPromql(q.expr));
      expect(selectors.length, `${q.where}: ${q.expr}`).toBeGreaterThan(0);
      for (const s of selectors) expect(unknownMetricProblem(s), `${q.where}: ${q.expr}`).toBeUndefined();
    }
  });

  test('covers throughput, latency, connections, storage, replication, groups, Raft and breakers', () => {
    const used = new Set(panelQueries().flatMap((q) => metricSelectors(toPromql(q.expr)).map((s) => s.name)));
    for (const name of [
      'streambus_messages_in_total',
      'streambus_messages_out_total',
      'streambus_bytes_in_total',
      'streambus_bytes_out_total',
      'streambus_request_duration_seconds_bucket',
      'streambus_connections_active',
      'streambus_log_fsync_duration_seconds_bucket',
      'streambus_disk_free_bytes',
      'streambus_partitions_under_replicated',
      'streambus_consumer_group_lag',
      'raft_commit_index',
      'raft_applied_index',
      'raft_leadership_changes_total',
      'raft_proposals_total',
      'circuitbreaker_state',
    ]) {
      expect(used, name).toContain(name);
    }
  });

  test('latency panels take quantiles over histogram buckets, never over averages', () => {
    for (const q of panelQueries().filter((x) => x.expr.includes('histogram_quantile'))) {
      expect(q.expr, q.where).toMatch(
        /histogram_quantile\([\d.]+, sum by \([^)]*\ble\b[^)]*\) \(rate\(\w+_bucket/,
      );
    }
  });
});

describe.skipIf(!hasPromtool)('Grafana dashboard queries are valid PromQL (promtool)', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('streambus-grafana-');
  });
  afterAll(() => removeDir(dir));

  test('every query parses as a recording rule expression', () => {
    const queries = [...panelQueries(), ...variableQueries()];
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: toPromql(q.expr) }));
    writeFileSync(join(dir, 'queries.yml'), stringifyYaml({ groups: [{ name: 'dashboard', rules }] }));
    const r = spawnSync('promtool', ['check', 'rules', join(dir, 'queries.yml')], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${rules.length} rules found`);
  });
});
