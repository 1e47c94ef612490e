import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { METRICS, silentLogger, startOpsStack } from '../../src/observability/index.js';
import { scratchDir } from '../helpers/scratch-dir.js';

function testConfig(overrides: Record<string, unknown> = {}) {
  return loadConfig({
    env: {},
    overrides: {
      'broker.listen': '127.0.0.1:0',
      'broker.data_dir': scratchDir('streambus-ops-'),
      'health.http.bind_address': '127.0.0.1',
      'health.http.port': 0,
      'health.disk_free_bytes_min': 1,
      ...overrides,
    },
  });
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}

describe('startOpsStack', () => {
  it('serves health and every metric from the config, and becomes ready once checks pass', async () => {
    const stack = await startOpsStack(testConfig(), { logger: silentLogger() });
    try {
      const base = `http://127.0.0.1:${stack.server?.address.port}`;
      await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200);
      expect(stack.isReady()).toBe(true);
      const report = (await (await fetch(`${base}/health`)).json()) as { components: { name: string }[] };
      expect(report.components.map((c) => c.name).sort()).toEqual(['event_loop', 'storage']);
      const text = await (await fetch(`${base}/metrics`)).text();
      for (const spec of Object.values(METRICS)) expect(text).toContain(`# TYPE ${spec.name} ${spec.type}`);
      expect(text).toMatch(/streambus_disk_free_bytes\{broker_id="1"\} \d+/);
      stack.health.setDraining(true);
      expect((await fetch(`${base}/health/ready`)).status).toBe(503);
    } finally {
      await stack.close();
    }
  });

  it('gives metrics their own listener when metrics.port is set', async () => {
    const stack = await startOpsStack(testConfig({ 'metrics.port': 0 }), {
      logger: silentLogger(),
      processMetrics: false,
    });
    try {
      expect(stack.server?.metricsAddress?.port).not.toBe(stack.server?.address.port);
    } finally {
      await stack.close();
    }
  });

  it('starts no listener when health HTTP and metrics are both off', async () => {
    const stack = await startOpsStack(
      testConfig({ 'health.http.enabled': false, 'metrics.enabled': false }),
      {
        logger: silentLogger(),
      },
    );
    expect(stack.server).toBeUndefined();
    await stack.close();
  });

  it('leaves no handles behind after repeated start and close', async () => {
    const count = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    // Warm up module-level state (prom-client, fastify) before taking the baseline.
    await (await startOpsStack(testConfig(), { logger: silentLogger() })).close();
    await new Promise((r) => setTimeout(r, 20));
    const baseline = count();
    for (let i = 0; i < 5; i++) {
      const stack = await startOpsStack(testConfig(), { logger: silentLogger() });
      await fetch(`http://127.0.0.1:${stack.server?.address.port}/health/live`).then((r) => r.text());
      await stack.close();
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(count()).toBeLessThanOrEqual(baseline);
  });
});
