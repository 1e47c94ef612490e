/** The PromQL name extractor the dashboard and alert checks rely on finds names and only names. */
import { describe, expect, test } from 'vitest';
import { metricSelectors, unknownMetricProblem } from './promql-names.js';

describe('metricSelectors', () => {
  test('finds metrics inside functions and aggregations, skipping grouping labels and durations', () => {
    const expr =
      'histogram_quantile(0.99, sum by (le, api) (rate(streambus_request_duration_seconds_bucket{api=~"$api"}[$__rate_interval])))';
    expect(metricSelectors(expr)).toEqual([
      { name: 'streambus_request_duration_seconds_bucket', labels: ['api'] },
    ]);
  });

  test('finds both sides of binary operators and ignores keywords and numbers', () => {
    const expr =
      'up{job="streambus"} == 0 and on (instance) rate(raft_proposals_total[5m]) > 1e3 or vector(0)';
    expect(metricSelectors(expr).map((s) => s.name)).toEqual(['up', 'raft_proposals_total']);
  });
});

describe('unknownMetricProblem', () => {
  test('accepts known metrics, histogram series and default process metrics', () => {
    expect(unknownMetricProblem({ name: 'streambus_messages_in_total', labels: ['topic', 'instance'] })).toBe(
      undefined,
    );
    expect(
      unknownMetricProblem({ name: 'streambus_log_fsync_duration_seconds_bucket', labels: ['le'] }),
    ).toBe(undefined);
    expect(unknownMetricProblem({ name: 'process_resident_memory_bytes', labels: [] })).toBe(undefined);
  });

  test('rejects unknown names, histogram suffixes on non-histograms and unknown labels', () => {
    expect(unknownMetricProblem({ name: 'streambus_messages_total', labels: [] })).toMatch(
      /not in metric-names/,
    );
    expect(unknownMetricProblem({ name: 'streambus_disk_free_bytes_bucket', labels: [] })).toMatch(
      /not a histogram/,
    );
    expect(unknownMetricProblem({ name: 'circuitbreaker_state', labels: ['breaker'] })).toMatch(/no label/);
  });
});
