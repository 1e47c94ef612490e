/**
 * The OTLP exporter sends tracing.otlp_headers (a hosted collector's API key) with each export. Its own
 * file: OpenTelemetry's global tracer provider can be registered once per process.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { startTracing, withSpan } from '../../src/observability/index.js';

it('the otlp exporter sends the configured headers with each export', async () => {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle = await startTracing({
    enabled: true,
    exporter: 'otlp',
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    otlpHeaders: { 'x-api-key': 'k-123' },
    samplingRatio: 1,
  });
  try {
    await withSpan('produce', { topic: 'orders' }, async () => {});
    await handle.forceFlush();
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]?.['x-api-key']).toBe('k-123');
  } finally {
    await handle.shutdown();
    await new Promise((resolve) => server.close(resolve));
  }
});
