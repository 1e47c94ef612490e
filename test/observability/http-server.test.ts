import { afterEach, describe, expect, it } from 'vitest';
import {
  HealthRegistry,
  MetricsRegistry,
  type OpsServer,
  startOpsServer,
} from '../../src/observability/index.js';

const servers: OpsServer[] = [];
const registries: HealthRegistry[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const r of registries.splice(0)) r.stop();
});

async function start(
  options: Partial<Parameters<typeof startOpsServer>[0]> = {},
): Promise<{ server: OpsServer; health: HealthRegistry; metrics: MetricsRegistry; base: string }> {
  const health = new HealthRegistry({ intervalMs: 60_000, timeoutMs: 50 });
  registries.push(health);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const server = await startOpsServer({ host: '127.0.0.1', port: 0, health, metrics, ...options });
  servers.push(server);
  return { server, health, metrics, base: `http://127.0.0.1:${server.address.port}` };
}

describe('ops HTTP server', () => {
  it('serves liveness always and readiness from cached checks', async () => {
    const { health, base } = await start();
    health.register({ name: 'storage', check: async () => ({ status: 'healthy' }) });
    let res = await fetch(`${base}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'alive' });
    res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not_ready', reason: 'storage: not checked yet' });
    await health.refresh();
    res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(200);
    health.setDraining(true);
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
  });

  it('answers every health endpoint while a check hangs forever', async () => {
    const { health, base } = await start();
    health.register({ name: 'raft', check: () => new Promise(() => {}) });
    health.register({ name: 'storage', check: async () => ({ status: 'healthy' }) });
    health.start();
    // The hanging check is in flight; every probe still answers from the cache.
    const answers = await Promise.all(
      ['/health/live', '/health/ready', '/health', '/health/raft', '/metrics'].map(async (path) => {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        return [path, res.status];
      }),
    );
    expect(Object.fromEntries(answers)).toEqual({
      '/health/live': 200,
      '/health/ready': 503,
      '/health': 503,
      '/health/raft': 503,
      '/metrics': 200,
    });
    // After the timeout the hang is reported by name.
    await new Promise((r) => setTimeout(r, 120));
    const body = (await (await fetch(`${base}/health`)).json()) as {
      components: { name: string; message: string }[];
    };
    expect(body.components.find((c) => c.name === 'raft')?.message).toBe('timed out after 50ms');
  });

  it('serves the aggregate report with 200 for degraded and 503 for unhealthy', async () => {
    const { health, base } = await start();
    let status: 'degraded' | 'unhealthy' = 'degraded';
    health.register({ name: 'storage', check: async () => ({ status, message: 'disk nearly full' }) });
    await health.refresh();
    let res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'degraded',
      ready: true,
      live: true,
      draining: false,
      components: [{ name: 'storage', status: 'degraded', message: 'disk nearly full', critical: true }],
    });
    status = 'unhealthy';
    await health.refresh();
    res = await fetch(`${base}/health`);
    expect(res.status).toBe(503);
  });

  it('answers /health/raft honestly without Raft, and from a provider once set', async () => {
    const { server, base } = await start();
    let res = await fetch(`${base}/health/raft`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unavailable' });
    server.setRaftHealthProvider(() => ({ status: 'healthy', role: 'leader', term: 3 }));
    res = await fetch(`${base}/health/raft`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'healthy', role: 'leader', term: 3 });
  });

  it('serves Prometheus text with its content type on the shared listener', async () => {
    const { metrics, base } = await start();
    metrics.raftProposalsTotal.inc();
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('raft_proposals_total 1');
  });

  it('serves /metrics on its own port when metricsPort differs, and only there', async () => {
    const health = new HealthRegistry();
    const metrics = new MetricsRegistry({ processMetrics: false });
    const server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      health,
      metrics,
      metricsPort: 0,
      metricsPath: '/prom',
    });
    servers.push(server);
    expect(server.metricsAddress?.port).not.toBe(server.address.port);
    expect((await fetch(`http://127.0.0.1:${server.metricsAddress?.port}/prom`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.address.port}/prom`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.metricsAddress?.port}/health/live`)).status).toBe(404);
  });

  it('closes keep-alive connections and frees its port on close', async () => {
    const { server, base } = await start();
    await (await fetch(`${base}/health/live`)).text();
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await expect(fetch(`${base}/health/live`)).rejects.toThrow();
  });
});
