/**
 * `produce --delivery-timeout-ms` (env STREAMBUS_DELIVERY_TIMEOUT_MS) bounds how long a message is retried:
 * without it a produce to brokers that are down (or short of in-sync replicas) retried for 2 minutes.
 */
import { describe, expect, test } from 'vitest';
import { requireDist } from '../helpers/acked-producer.js';
import { runCli } from '../helpers/run-cli.js';

// Nothing listens on port 1: every connect is refused.
const nowhere = '127.0.2.1:1';

describe('produce --delivery-timeout-ms', () => {
  test('the flag bounds the send', async () => {
    requireDist();
    const r = await runCli(['produce', 't', '--bootstrap', nowhere, '--delivery-timeout-ms', '300'], {
      input: 'x\n',
    });
    expect(r.stderr).toContain('delivery timeout 300 ms');
    expect(r.code).toBe(1);
  });

  test('STREAMBUS_DELIVERY_TIMEOUT_MS is its fallback', async () => {
    const r = await runCli(['produce', 't', '--bootstrap', nowhere], {
      input: 'x\n',
      env: { STREAMBUS_DELIVERY_TIMEOUT_MS: '250' },
    });
    expect(r.stderr).toContain('delivery timeout 250 ms');
    expect(r.code).toBe(1);
  });

  test('a value that is not a positive integer is refused', async () => {
    const r = await runCli(['produce', 't', '--bootstrap', nowhere, '--delivery-timeout-ms', '0']);
    expect(r.stderr).toContain('--delivery-timeout-ms must be at least 1');
    expect(r.code).not.toBe(0);
  });
});
