/**
 * The `streambus` CLI against one broker process: the README walk-through (create, produce, consume) at
 * scale, every option the issue names, --help everywhere, and clear failures for bad input.
 */
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { partitionForKey } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import { cliBroker } from '../helpers/cli-broker.js';
import { runCli } from '../helpers/run-cli.js';

const { cli, broker } = cliBroker();

/** Parses `--print-offset` output: partition -> [offset, value] in printed order. */
function byPartition(stdout: string): Map<number, [number, string][]> {
  const out = new Map<number, [number, string][]>();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    const [p, o] = line.slice(0, tab).split(':').map(Number) as [number, number];
    const list = out.get(p) ?? [];
    list.push([o, line.slice(tab + 1)]);
    out.set(p, list);
  }
  return out;
}

function seq(from: number, to: number): string {
  const lines: string[] = [];
  for (let i = from; i <= to; i++) lines.push(String(i));
  return `${lines.join('\n')}\n`;
}

describe('the produce/consume walk-through', () => {
  test('topic create, list and describe show a 3-partition topic', async () => {
    const created = await cli(['topic', 'create', 'orders', '--partitions', '3']);
    expect([created.code, created.stdout]).toEqual([0, 'created topic orders with 3 partition(s)\n']);
    const again = await cli(['topic', 'create', 'orders', '--partitions', '3']);
    expect([again.code, again.stderr]).toEqual([
      1,
      'streambus: TOPIC_ALREADY_EXISTS: topic orders already exists\n',
    ]);
    const listed = await cli(['topic', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')).toContain('orders\t3 partition(s)');
    const described = await cli(['topic', 'describe', 'orders']);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^topic orders\tpartitions 3/);
    expect(described.stdout.match(/^ {2}partition \d\tleader 1/gm)).toHaveLength(3);
    const json = await cli(['topic', 'describe', 'orders', '--json']);
    const parsed = JSON.parse(json.stdout) as { name: string; partitions: { highWatermark: number }[] }[];
    expect(parsed[0]?.name).toBe('orders');
    expect(parsed[0]?.partitions.map((p) => p.highWatermark)).toEqual([0, 0, 0]);
  });

  test('20,000 stdin lines are all acknowledged and consumed back, each partition in order', async () => {
    const produced = await cli(['produce', 'orders'], { input: seq(1, 20_000), timeoutMs: 60_000 });
    expect(produced.stderr).toContain('20000 message(s) acknowledged');
    expect(produced.code).toBe(0);

    const consumed = await cli(
      ['consume', 'orders', '--from-beginning', '--max-messages', '20000', '--print-offset'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(consumed.code).toBe(0);
    expect(consumed.stderr).toContain('20000 message(s) consumed');
    const parts = byPartition(consumed.stdout);
    const values: number[] = [];
    for (const [partition, list] of parts) {
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(3);
      // Offsets print in order, from 0, with no gaps.
      expect(list.map(([o]) => o)).toEqual(list.map((_, i) => i));
      // The producer keeps send order within a partition.
      const vs = list.map(([, v]) => Number(v));
      expect(vs.every((v, i) => i === 0 || v > vs[i - 1]!)).toBe(true);
      values.push(...vs);
    }
    expect(values.length).toBe(20_000);
    expect(new Set(values).size).toBe(20_000);
    expect(Math.min(...values)).toBe(1);
    expect(Math.max(...values)).toBe(20_000);
    expect(parts.size).toBeGreaterThan(1);

    const plain = await cli([
      'consume',
      'orders',
      '--from-beginning',
      '--max-messages',
      '5',
      '--partition',
      '0',
    ]);
    expect(plain.stdout.split('\n').filter((l) => l !== '')).toEqual(
      parts
        .get(0)!
        .slice(0, 5)
        .map(([, v]) => v),
    );
  });

  test('--partition with --offset starts at that offset of that partition', async () => {
    await cli(['topic', 'create', 'seek', '--partitions', '2']);
    const produced = await cli(['produce', 'seek', '--partition', '1'], { input: seq(100, 119) });
    expect(produced.stderr).toContain('20 message(s) acknowledged');
    const r = await cli([
      'consume',
      'seek',
      '--partition',
      '1',
      '--offset',
      '5',
      '--max-messages',
      '3',
      '--print-offset',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1:5\t105\n1:6\t106\n1:7\t107\n');
    const other = await cli([
      'consume',
      'seek',
      '--partition',
      '0',
      '--from-beginning',
      '--timeout-ms',
      '300',
    ]);
    expect([other.code, other.stdout]).toEqual([0, '']);
  });

  test('--timeout-ms exits cleanly when no message arrives', async () => {
    // Without --from-beginning the consumer starts at the end: nothing new arrives, so it times out.
    const r = await cli(['consume', 'orders', '--timeout-ms', '400']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('0 message(s) consumed');
  });

  test('--key-separator sends keys: same key, same partition, printed back with --print-key', async () => {
    await cli(['topic', 'create', 'keyed', '--partitions', '3']);
    const lines = Array.from({ length: 30 }, (_, i) => `user-${i % 3}:event-${i}`).join('\n');
    const produced = await cli(['produce', 'keyed', '--key-separator', ':'], { input: `${lines}\n` });
    expect(produced.stderr).toContain('30 message(s) acknowledged');
    const r = await cli([
      'consume',
      'keyed',
      '--from-beginning',
      '--max-messages',
      '30',
      '--print-key',
      '--print-offset',
    ]);
    const partitionOfKey = new Map<string, Set<number>>();
    for (const [p, list] of byPartition(r.stdout)) {
      for (const [, rest] of list) {
        const [key, value] = rest.split('\t') as [string, string];
        expect(value).toMatch(/^event-\d+$/);
        expect(Number(value.slice(6)) % 3).toBe(Number(key.slice(5)));
        partitionOfKey.set(key, (partitionOfKey.get(key) ?? new Set()).add(p));
      }
    }
    expect([...partitionOfKey.keys()].sort()).toEqual(['user-0', 'user-1', 'user-2']);
    for (const ps of partitionOfKey.values()) expect(ps.size).toBe(1);
  });

  test('--acks 0 reports messages sent rather than acknowledged', async () => {
    await cli(['topic', 'create', 'fire']);
    const r = await cli(['produce', 'fire', '--acks', '0'], { input: seq(1, 10) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('10 message(s) sent (acks=0');
  });

  test('--compression gzip, snappy, lz4 and zstd round-trip; a codec this build cannot write fails naming the choices, sending nothing', async () => {
    await cli(['topic', 'create', 'squeezed']);
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'];
    for (const [i, codec] of codecs.entries()) {
      const produced = await cli(['produce', 'squeezed', '--compression', codec], {
        input: seq(i * 50 + 1, i * 50 + 50),
      });
      expect([codec, produced.code]).toEqual([codec, 0]);
    }
    const brotli = await cli(['produce', 'squeezed', '--compression', 'brotli'], { input: seq(1001, 1010) });
    expect(brotli.code).not.toBe(0);
    expect(brotli.stderr).toContain('Allowed choices are none, gzip, snappy, lz4, zstd');
    const r = await cli([
      'consume',
      'squeezed',
      '--from-beginning',
      '--max-messages',
      '210',
      '--timeout-ms',
      '1500',
    ]);
    const values = r.stdout
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  test('a line the broker refuses is counted as failed; the lines written beside it are counted as acknowledged', async () => {
    await cli(['topic', 'create', 'strict', '--partitions', '2', '--config', 'max_message_bytes=2000']);
    // Keys that hash to partition 0 and 1: the oversized line goes alone to partition 1.
    const keyFor = (partition: number) =>
      Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === partition)!;
    const input = [`${keyFor(0)}:a`, `${keyFor(1)}:${'x'.repeat(5000)}`, `${keyFor(0)}:small`].join('\n');
    const r = await cli(['produce', 'strict', '--key-separator', ':'], { input: `${input}\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      '2 message(s) acknowledged, 1 failed; stopped after an error: BATCH_TOO_LARGE',
    );
    const read = await cli([
      'consume',
      'strict',
      '--from-beginning',
      '--max-messages',
      '2',
      '--timeout-ms',
      '1500',
    ]);
    expect(read.stdout.split('\n').filter(Boolean).sort()).toEqual(['a', 'small']);
  });

  test('lines split at \\n only: a lone \\r stays in its message, \\r\\n endings and a last line without one count', async () => {
    await cli(['topic', 'create', 'returns']);
    const produced = await cli(['produce', 'returns'], { input: 'a\rb\nc\r\nd' });
    expect(produced.stderr).toBe('3 message(s) acknowledged\n');
    const r = await cli(['consume', 'returns', '--from-beginning', '--max-messages', '3', '--print-offset']);
    expect(r.stdout).toBe('0:0\ta\rb\n0:1\tc\n0:2\td\n');
  });

  test('STREAMBUS_BOOTSTRAP is used when --bootstrap is absent', async () => {
    const r = await runCli(['topic', 'list'], { env: { STREAMBUS_BOOTSTRAP: broker().bootstrap } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('orders\t3 partition(s)');
  });

  test('topic alter --partitions adds partitions; fewer than now exits 1 with INVALID_PARTITIONS', async () => {
    await cli(['topic', 'create', 'growing', '--partitions', '2']);
    const checked = await cli(['topic', 'alter', 'growing', '--partitions', '4', '--validate-only']);
    expect([checked.code, checked.stdout]).toEqual([0, 'topic growing can grow to 4 partition(s)\n']);
    expect((await cli(['topic', 'list'])).stdout).toContain('growing\t2 partition(s)');
    const grown = await cli(['topic', 'alter', 'growing', '--partitions', '4']);
    expect([grown.code, grown.stdout]).toEqual([0, 'topic growing now has 4 partition(s)\n']);
    expect((await cli(['topic', 'list'])).stdout).toContain('growing\t4 partition(s)');
    const produced = await cli(['produce', 'growing', '--partition', '3'], { input: 'on-p3\n' });
    expect(produced.code).toBe(0);
    const shrink = await cli(['topic', 'alter', 'growing', '--partitions', '3']);
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toContain('INVALID_PARTITIONS');
  });

  test('--replica-assignment places partitions (on one broker only on itself); bad lists fail with a clear error', async () => {
    const created = await cli(['topic', 'create', 'pinned', '--replica-assignment', '1,1']);
    expect([created.code, created.stdout]).toEqual([0, 'created topic pinned with 2 partition(s)\n']);
    const grown = await cli(['topic', 'alter', 'pinned', '--partitions', '3', '--replica-assignment', '1']);
    expect([grown.code, grown.stdout]).toEqual([0, 'topic pinned now has 3 partition(s)\n']);
    const other = await cli(['topic', 'create', 'elsewhere', '--replica-assignment', '2']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('INVALID_REPLICA_ASSIGNMENT');
    expect(other.stderr).toContain('names broker 2');
    const garbled = await cli(['topic', 'create', 'garbled', '--replica-assignment', '1:x']);
    expect(garbled.code).not.toBe(0);
    expect(garbled.stderr).toContain(
      "--replica-assignment expects broker ids like 1:2:3,2:3:1; partition 0 has '1:x'",
    );
    expect((await cli(['topic', 'list'])).stdout).not.toMatch(/elsewhere|garbled/);
  });

  test('topic delete removes the topic', async () => {
    await cli(['topic', 'create', 'doomed', '--partitions', '2']);
    const r = await cli(['topic', 'delete', 'doomed']);
    expect([r.code, r.stdout]).toEqual([0, 'deleted topic doomed\n']);
    expect((await cli(['topic', 'list'])).stdout).not.toContain('doomed');
    const d = await cli(['topic', 'describe', 'doomed']);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('doomed');
  });
});

describe('cluster status', () => {
  test('a single-node broker reports itself as the only broker, alive and metadata leader', async () => {
    const r = await cli(['cluster', 'status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^metadata leader 1\tterm 0\t/m);
    expect(r.stdout).toMatch(/^metadata voters 1\tlearners -$/m);
    expect(r.stdout).toContain('brokers 1 (1 alive)');
    expect(r.stdout).toMatch(
      new RegExp(`^1\\*\\s+alive\\s+${broker().bootstrap.replaceAll('.', '\\.')}\\s`, 'm'),
    );
    const json = JSON.parse((await cli(['cluster', 'status', '--json'])).stdout) as {
      metadataLeaderId: number;
      brokers: { id: number; state: string }[];
    };
    expect(json.metadataLeaderId).toBe(1);
    expect(json.brokers.map((x) => [x.id, x.state])).toEqual([[1, 'alive']]);
  });

  test('drain on a single-node broker is refused with a clear error; a bad id never reaches it', async () => {
    const r = await cli(['cluster', 'drain', '1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('INVALID_REQUEST');
    expect(r.stderr).toContain('needs cluster mode');
    const bad = await cli(['cluster', 'decommission', 'x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('broker id must be a positive integer');
    const voter = await cli(['cluster', 'add-voter', '1']);
    expect(voter.code).not.toBe(0);
    expect(voter.stderr).toContain('add-voter needs cluster mode');
    const badVoter = await cli(['cluster', 'remove-voter', '0']);
    expect(badVoter.code).not.toBe(0);
    expect(badVoter.stderr).toContain('broker id must be a positive integer');
  });

  test('topic reassign and unpin on a single-node broker are refused with a clear error; bad replica ids never reach it', async () => {
    await cli(['topic', 'create', 'single-reassign']);
    const r = await cli(['topic', 'reassign', 'single-reassign', '--partition', '0', '--replicas', '1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('INVALID_REQUEST');
    expect(r.stderr).toContain('needs cluster mode');
    const unpin = await cli(['topic', 'unpin', 'single-reassign']);
    expect(unpin.code).not.toBe(0);
    expect(unpin.stderr).toContain('needs cluster mode');
    const bad = await cli(['topic', 'reassign', 'single-reassign', '--partition', '0', '--replicas', '1,x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--replicas expects broker ids like 4,1,2; got '1,x'");
  });
});

describe('errors', () => {
  test('producing to an unknown topic exits non-zero naming the error and the count acknowledged', async () => {
    const r = await cli(['produce', 'no-such-topic'], { input: 'a\nb\n' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('0 message(s) acknowledged');
    expect(r.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('a bad --acks value is rejected before anything is sent', async () => {
    const r = await cli(['produce', 'orders', '--acks', '2'], { input: 'x\n' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--acks must be 0, 1 or all, got '2'");
  });

  test('creating an existing topic exits 1 with TOPIC_ALREADY_EXISTS', async () => {
    await cli(['topic', 'create', 'twice']);
    const r = await cli(['topic', 'create', 'twice']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TOPIC_ALREADY_EXISTS');
  });

  test('a non-integer --partitions is rejected with the option named', async () => {
    const r = await cli(['topic', 'create', 'bad-parts', '--partitions', 'three']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--partitions must be an integer');
  });

  test('--offset without --partition is refused', async () => {
    const r = await cli(['consume', 'orders', '--offset', '3']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--offset needs --partition');
  });

  test('an unreachable broker fails fast with NETWORK_ERROR', async () => {
    const r = await runCli(['topic', 'list', '--bootstrap', '127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NETWORK_ERROR');
  });
});

test('the build leaves the CLI executable, as npx streambus runs it (package.json bin)', () => {
  requireDist();
  const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { streambus: string } }).bin
    .streambus;
  expect(statSync(bin).mode & 0o111).toBe(0o111);
});

describe('--help', () => {
  const commands = [
    [],
    ['broker'],
    ['topic'],
    ['topic', 'create'],
    ['topic', 'list'],
    ['topic', 'describe'],
    ['topic', 'alter'],
    ['topic', 'reassign'],
    ['topic', 'unpin'],
    ['topic', 'delete'],
    ['produce'],
    ['consume'],
    ['bench'],
    ['bench', 'produce'],
    ['bench', 'consume'],
    ['bench', 'e2e'],
    ['cluster'],
    ['cluster', 'status'],
    ['dev-cluster'],
    ['config', 'describe'],
    ['config', 'alter'],
  ];
  test('every command prints its usage and exits 0', async () => {
    const results = await Promise.all(commands.map((c) => runCli([...c, '--help'])));
    results.forEach((r, i) => {
      const name = ['streambus', ...commands[i]!].join(' ');
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toContain(`Usage: ${name}`);
    });
    const produce = results[commands.findIndex((c) => c.join(' ') === 'produce')]!;
    for (const option of ['--key', '--key-separator', '--acks', '--partition', '--bootstrap']) {
      expect(produce.stdout).toContain(option);
    }
    const reassign = results[commands.findIndex((c) => c.join(' ') === 'topic reassign')]!;
    for (const option of ['--partition', '--replicas', '--wait', '--timeout-ms']) {
      expect(reassign.stdout).toContain(option);
    }
    const unpin = results[commands.findIndex((c) => c.join(' ') === 'topic unpin')]!;
    expect(unpin.stdout).toContain('--partition');
    const broker = results[commands.findIndex((c) => c.join(' ') === 'broker')]!;
    for (const option of ['--node-id', '--broker-id', '--http-listen', '--peer-listen', '--voters']) {
      expect(broker.stdout).toContain(option);
    }
    const devCluster = results[commands.findIndex((c) => c.join(' ') === 'dev-cluster')]!;
    for (const option of ['--brokers', '--data-dir', '--base-port']) {
      expect(devCluster.stdout).toContain(option);
    }
    const consume = results[commands.findIndex((c) => c.join(' ') === 'consume')]!;
    for (const option of ['--from-beginning', '--partition', '--offset', '--max-messages', '--timeout-ms']) {
      expect(consume.stdout).toContain(option);
    }
    for (const sub of ['describe', 'alter']) {
      const help = results[commands.findIndex((c) => c.join(' ') === `config ${sub}`)]!;
      for (const option of ['--topic', '--cluster', '--client', '--client-default']) {
        expect(help.stdout, `config ${sub}`).toContain(option);
      }
    }
  });
});

describe('config describe / alter against a running broker', () => {
  test('alter sets and deletes topic configs; describe shows each key with its value and source', async () => {
    expect((await cli(['topic', 'create', 'cfg-cli'])).code).toBe(0);
    const altered = await cli([
      'config',
      'alter',
      '--topic',
      'cfg-cli',
      '--set',
      'retention_ms=60000',
      'segment_ms=5000',
    ]);
    expect([altered.code, altered.stdout]).toEqual([0, 'altered topic cfg-cli\n']);
    const described = await cli(['config', 'describe', '--topic', 'cfg-cli']);
    expect(described.code).toBe(0);
    expect(described.stdout.split('\n')[0]).toMatch(/^KEY\s+VALUE\s+SOURCE$/);
    expect(described.stdout).toMatch(/^retention_ms\s+60000\s+topic$/m);
    expect(described.stdout).toMatch(/^segment_ms\s+5000\s+topic$/m);
    expect(described.stdout).toMatch(/^flush_policy\s+always\s+default$/m);

    expect((await cli(['config', 'alter', '--topic', 'cfg-cli', '--delete', 'segment_ms'])).code).toBe(0);
    const json = await cli(['config', 'describe', '--topic', 'cfg-cli', '--json']);
    const entries = JSON.parse(json.stdout) as { key: string; source: string }[];
    expect(entries.find((e) => e.key === 'segment_ms')?.source).toBe('default');
    expect(entries.find((e) => e.key === 'retention_ms')?.source).toBe('topic');
  });

  test('clear failures: bad key or value, unknown topic, no resource or both, nothing to change, cluster level on one broker', async () => {
    expect((await cli(['topic', 'create', 'cfg-cli-bad'])).code).toBe(0);
    const badKey = await cli(['config', 'alter', '--topic', 'cfg-cli-bad', '--set', 'retention=1']);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('INVALID_TOPIC_CONFIG');
    expect(badKey.stderr).toContain('retention');
    const badValue = await cli(['config', 'alter', '--topic', 'cfg-cli-bad', '--set', 'retention_ms=soon']);
    expect([badValue.code, badValue.stderr.includes('INVALID_TOPIC_CONFIG')]).toEqual([1, true]);
    const validateOnly = await cli([
      'config',
      'alter',
      '--topic',
      'cfg-cli-bad',
      '--set',
      'retention_ms=1000',
      '--validate-only',
    ]);
    expect([validateOnly.code, validateOnly.stdout]).toEqual([
      0,
      'valid change to topic cfg-cli-bad (not applied)\n',
    ]);
    expect((await cli(['config', 'describe', '--topic', 'cfg-cli-bad'])).stdout).toMatch(
      /^retention_ms\s+\d+\s+default$/m,
    );
    const unknown = await cli(['config', 'describe', '--topic', 'no-such-topic']);
    expect([unknown.code, unknown.stderr.includes('UNKNOWN_TOPIC_OR_PARTITION')]).toEqual([1, true]);
    const neither = await cli(['config', 'describe']);
    expect([neither.code, neither.stderr]).toEqual([
      1,
      'streambus: give exactly one of --topic <name>, --cluster, --client <id> or --client-default\n',
    ]);
    const both = await cli(['config', 'describe', '--topic', 'x', '--cluster']);
    expect(both.code).toBe(1);
    const nothing = await cli(['config', 'alter', '--topic', 'cfg-cli-bad']);
    expect([nothing.code, nothing.stderr]).toEqual([
      1,
      'streambus: nothing to change: give --set key=value and/or --delete key\n',
    ]);
    const cluster = await cli(['config', 'alter', '--cluster', '--set', 'retention_ms=1000']);
    expect([cluster.code, cluster.stderr.includes('cluster mode')]).toEqual([1, true]);
    expect((await cli(['config', 'describe', '--cluster'])).stdout).toMatch(
      /^retention_ms\s+\d+\s+default$/m,
    );
  });

  test('alter --client and --client-default set quota overrides; describe shows value and source; delete falls back', async () => {
    const set = await cli([
      'config',
      'alter',
      '--client',
      'cli-quota',
      '--set',
      'producer_byte_rate=4096',
      'request_percentage=2.5',
    ]);
    expect([set.code, set.stdout]).toEqual([0, 'altered quotas of client cli-quota\n']);
    const setDefault = await cli([
      'config',
      'alter',
      '--client-default',
      '--set',
      'producer_byte_rate=8192',
      'consumer_byte_rate=16384',
    ]);
    expect([setDefault.code, setDefault.stdout]).toEqual([0, 'altered default client quotas\n']);
    const described = await cli(['config', 'describe', '--client', 'cli-quota']);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^producer_byte_rate\s+4096\s+client$/m);
    expect(described.stdout).toMatch(/^consumer_byte_rate\s+16384\s+client-default$/m);
    expect(described.stdout).toMatch(/^request_percentage\s+2\.5\s+client$/m);
    // -1 exempts one client id from the default, which deleting its override would fall back to.
    const exempt = await cli(['config', 'alter', '--client', 'cli-exempt', '--set', 'consumer_byte_rate=-1']);
    expect(exempt.code).toBe(0);
    const exemptDescribed = await cli(['config', 'describe', '--client', 'cli-exempt']);
    expect(exemptDescribed.stdout).toMatch(/^consumer_byte_rate\s+-1 \(unlimited\)\s+client$/m);
    expect(exemptDescribed.stdout).toMatch(/^producer_byte_rate\s+8192\s+client-default$/m);
    const other = await cli(['config', 'describe', '--client', 'someone-else', '--json']);
    expect(JSON.parse(other.stdout)).toEqual([
      { key: 'consumer_byte_rate', value: '16384', source: 'client-default' },
      { key: 'producer_byte_rate', value: '8192', source: 'client-default' },
      { key: 'request_percentage', value: '-1', source: 'default' },
    ]);

    expect(
      (await cli(['config', 'alter', '--client', 'cli-quota', '--delete', 'producer_byte_rate'])).code,
    ).toBe(0);
    expect(
      (
        await cli([
          'config',
          'alter',
          '--client-default',
          '--delete',
          'producer_byte_rate',
          'consumer_byte_rate',
        ])
      ).code,
    ).toBe(0);
    const fallen = await cli(['config', 'describe', '--client', 'cli-quota']);
    expect(fallen.stdout).toMatch(/^producer_byte_rate\s+-1 \(unlimited\)\s+default$/m);
    expect(fallen.stdout).toMatch(/^consumer_byte_rate\s+-1 \(unlimited\)\s+default$/m);

    const bad = await cli(['config', 'alter', '--client', 'cli-quota', '--set', 'producer_byte_rate=0']);
    expect([bad.code, bad.stderr.includes('INVALID_CONFIG')]).toEqual([1, true]);
    const unknownKey = await cli(['config', 'alter', '--client-default', '--set', 'io_thread_percentage=5']);
    expect([unknownKey.code, unknownKey.stderr.includes('unknown client quota key')]).toEqual([1, true]);
  });
});
