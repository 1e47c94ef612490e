import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker-process.js';
import { runCli } from '../helpers/run-cli.js';

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.stop();
  if (broker) removeDir(broker.dataDir);
});

/** The contract scripts rely on: the last stdout line is one JSON object with these numeric fields. */
function summaryOf(stdout: string): Record<string, number | string> {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  const summary = JSON.parse(last) as Record<string, number | string>;
  for (const key of ['msgs_per_s', 'mib_per_s', 'p50_us', 'p99_us', 'p999_us']) {
    expect(typeof summary[key], key).toBe('number');
    expect(summary[key] as number, key).toBeGreaterThan(0);
  }
  expect(summary.p50_us as number).toBeLessThanOrEqual(summary.p99_us as number);
  return summary;
}

describe('streambus bench', () => {
  test('produce sends every message, acknowledged, and ends with a JSON summary', async () => {
    const r = await runCli([
      'bench',
      'produce',
      '--bootstrap',
      broker.bootstrap,
      '--topic',
      'b1',
      '--messages',
      '3000',
      '--size',
      '200',
      '--batch',
      '100',
      '--warmup',
      '10',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s.messages).toBe(3000);
    expect(s.acks).toBe('all');
    // What the bench claims it wrote is in the topic (plus its 10 warm-up messages).
    const d = await runCli(['topic', 'describe', 'b1', '--json', '--bootstrap', broker.bootstrap]);
    const described = JSON.parse(d.stdout) as { partitions: { highWatermark: number }[] }[];
    expect(described[0]!.partitions[0]!.highWatermark).toBe(3010);
  });

  test('counts and sizes that would hang or mislead are refused before connecting', async () => {
    for (const [option, value, expected] of [
      ['--batch', '0', '--batch must be at least 1, got 0'],
      ['--batch', '-1', '--batch must be at least 1, got -1'],
      ['--in-flight', '0', '--in-flight must be at least 1, got 0'],
      ['--messages', '-5', '--messages must be at least 1, got -5'],
      ['--messages', '1e3x', "--messages must be an integer, got '1e3x'"],
    ] as const) {
      const r = await runCli(['bench', 'produce', option, value, '--bootstrap', '127.0.0.1:1'], {
        timeoutMs: 10_000,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(expected);
    }
    const e2e = await runCli(['bench', 'e2e', '--size', '8', '--bootstrap', '127.0.0.1:1']);
    expect(e2e.code).toBe(1);
    expect(e2e.stderr).toContain('e2e needs --size of at least 9 (the latency stamp), got 8');
    const consume = await runCli(['consume', 't', '--timeout-ms', '-1', '--bootstrap', '127.0.0.1:1']);
    expect(consume.code).toBe(1);
    expect(consume.stderr).toContain('--timeout-ms must be at least 0');
  });

  test('consume counts exactly the requested messages and the bytes it read, whatever --size says', async () => {
    // b1 holds 3010 messages of 200 bytes in batches of 100 after 10: message 3000 is inside a batch, so
    // the last poll returns more than are wanted.
    const r = await runCli([
      'bench',
      'consume',
      '--bootstrap',
      broker.bootstrap,
      '--topic',
      'b1',
      '--messages',
      '3000',
      '--size',
      '999',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s.messages).toBe(3000);
    expect(s.bytes).toBe(3000 * 200);
    expect(s.size_bytes).toBe(200);
    // The rate follows the bytes read (seconds is rounded to ms in the summary, hence the tolerance).
    const mib = (3000 * 200) / (s.seconds as number) / 1048576;
    expect(Math.abs((s.mib_per_s as number) - mib) / mib).toBeLessThan(0.1);
  });

  test('e2e receives every message it sent at the given rate; warm-up messages are not counted', async () => {
    const r = await runCli(
      [
        'bench',
        'e2e',
        '--bootstrap',
        broker.bootstrap,
        '--topic',
        'b2',
        '--rate',
        '500',
        '--duration',
        '1',
        '--size',
        '100',
        '--warmup',
        '200',
      ],
      {
        timeoutMs: 60_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s.sent).toBe(500);
    expect(s.received).toBe(500);
    expect(s.publish_errors).toBe(0);
  });
});
