import { describe, expect, it } from 'vitest';
import { METRICS, MetricsRegistry } from '../../src/observability/index.js';

describe('MetricsRegistry', () => {
  it('exposes every spec and data-plane metric with its declared type', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const text = await metrics.text();
    for (const spec of Object.values(METRICS)) {
      expect(text, spec.name).toContain(`# TYPE ${spec.name} ${spec.type}\n`);
    }
  });

  it('names every metric the hardening spec lists, with its labels', () => {
    const expected: Record<string, [string, string[]]> = {
      raft_proposals_total: ['counter', []],
      raft_proposal_duration_seconds: ['histogram', []],
      raft_leadership_changes_total: ['counter', []],
      raft_commit_index: ['gauge', []],
      raft_applied_index: ['gauge', []],
      raft_peers_count: ['gauge', []],
      metadata_operations_total: ['counter', ['operation', 'status']],
      metadata_operation_duration_seconds: ['histogram', ['operation']],
      metadata_version: ['gauge', []],
      metadata_brokers_count: ['gauge', []],
      metadata_partitions_count: ['gauge', []],
      cluster_brokers_active: ['gauge', []],
      cluster_rebalances_total: ['counter', ['status']],
      cluster_rebalance_duration_seconds: ['histogram', []],
      cluster_partitions_total: ['gauge', []],
      cluster_imbalance_score: ['gauge', []],
      circuitbreaker_state: ['gauge', ['name']],
      circuitbreaker_requests_total: ['counter', ['name', 'result']],
      circuitbreaker_state_changes_total: ['counter', ['name', 'from', 'to']],
    };
    const specRows = Object.values(METRICS).filter((m) => m.spec);
    expect(Object.fromEntries(specRows.map((m) => [m.name, [m.type, [...m.labels]]]))).toEqual(expected);
  });

  it('follows Prometheus naming: counters end in _total, histograms in a base unit', () => {
    for (const spec of Object.values(METRICS)) {
      expect(spec.name).toMatch(/^[a-z][a-z0-9_]*$/);
      if (spec.type === 'counter') expect(spec.name).toMatch(/_total$/);
      if (spec.type === 'histogram') expect(spec.name).toMatch(/_seconds$/);
    }
  });

  it('includes process metrics by default', async () => {
    const text = await new MetricsRegistry().text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('keeps registries independent', async () => {
    const a = new MetricsRegistry({ processMetrics: false });
    const b = new MetricsRegistry({ processMetrics: false });
    a.raftProposalsTotal.inc(3);
    expect(await a.text()).toContain('raft_proposals_total 3');
    expect(await b.text()).toContain('raft_proposals_total 0');
  });

  it('publishes per-topic counters accumulated as plain numbers at scrape time', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const orders = metrics.topicCounters('orders');
    expect(metrics.topicCounters('orders')).toBe(orders);
    orders.addIn(10, 1000);
    orders.addIn(5, 500);
    orders.addOut(7, 700);
    metrics.topicCounters('audit').addIn(1, 64);
    const text = await metrics.text();
    expect(text).toContain('streambus_messages_in_total{topic="orders"} 15');
    expect(text).toContain('streambus_bytes_in_total{topic="orders"} 1500');
    expect(text).toContain('streambus_messages_out_total{topic="orders"} 7');
    expect(text).toContain('streambus_bytes_out_total{topic="orders"} 700');
    expect(text).toContain('streambus_messages_in_total{topic="audit"} 1');
    // A second scrape must not double-count.
    expect(await metrics.text()).toContain('streambus_messages_in_total{topic="orders"} 15');
    metrics.removeTopic('audit');
    expect(await metrics.text()).not.toContain('topic="audit"');
  });

  it('records requests by api and status, and runs collect hooks before a scrape', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false, defaultLabels: { broker_id: '1' } });
    metrics.observeRequest('produce', 'ok', 0.002);
    metrics.observeRequest('produce', 'NOT_LEADER', 0.001);
    let depth = 0;
    const remove = metrics.addCollectHook(() => metrics.requestQueueDepth.set(depth));
    depth = 4;
    let text = await metrics.text();
    expect(text).toContain('streambus_requests_total{api="produce",status="ok",broker_id="1"} 1');
    expect(text).toContain('streambus_requests_total{api="produce",status="NOT_LEADER",broker_id="1"} 1');
    expect(text).toContain('streambus_request_duration_seconds_count{broker_id="1",api="produce"} 2');
    expect(text).toContain('streambus_request_queue_depth{broker_id="1"} 4');
    remove();
    depth = 9;
    text = await metrics.text();
    expect(text).toContain('streambus_request_queue_depth{broker_id="1"} 4');
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
