/**
 * The CLI against a broker process serving mutual TLS (configured through STREAMBUS_BROKER_TLS_*): every
 * client command takes --tls-ca/--tls-cert/--tls-key or their STREAMBUS_TLS_* variables, bench's e2e
 * worker included; without a certificate the broker refuses, and the command says why and exits 1.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDist } from '../helpers/acked-producer.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker-process.js';
import { runCli } from '../helpers/run-cli.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'tls', name);
const CLIENT_FLAGS = [
  '--tls-ca',
  fixture('ca.pem'),
  '--tls-cert',
  fixture('client.pem'),
  '--tls-key',
  fixture('client-key.pem'),
];

let broker: BrokerProcess | undefined;

beforeAll(async () => {
  requireDist();
  broker = await startBroker({
    env: {
      STREAMBUS_BROKER_TLS_ENABLED: 'true',
      STREAMBUS_BROKER_TLS_CERT_FILE: fixture('broker.pem'),
      STREAMBUS_BROKER_TLS_KEY_FILE: fixture('broker-key.pem'),
      STREAMBUS_BROKER_TLS_CA_FILE: fixture('ca.pem'),
      STREAMBUS_BROKER_TLS_CLIENT_AUTH: 'required',
    },
  });
});

afterAll(async () => {
  await broker?.kill();
  if (broker) removeDir(broker.dataDir);
});

const cli = (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runCli([...args, '--bootstrap', broker!.bootstrap], { ...options, timeoutMs: 60_000 });

describe('the CLI over mutual TLS', () => {
  it('creates, produces (files from the environment) and consumes', async () => {
    const created = await cli(['topic', 'create', 'secure', '--partitions', '2', ...CLIENT_FLAGS]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);

    const produced = await cli(['produce', 'secure'], {
      input: 'one\ntwo\nthree\n',
      env: {
        STREAMBUS_TLS_CA: fixture('ca.pem'),
        STREAMBUS_TLS_CERT: fixture('client.pem'),
        STREAMBUS_TLS_KEY: fixture('client-key.pem'),
      },
    });
    expect(produced.code).toBe(0);
    expect(produced.stderr).toContain('3');

    const consumed = await cli([
      'consume',
      'secure',
      '--from-beginning',
      '--max-messages',
      '3',
      ...CLIENT_FLAGS,
    ]);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout.trim().split('\n').sort()).toEqual(['one', 'three', 'two']);
  });

  it('bench produce and e2e (its consumer in a worker thread) connect over TLS', async () => {
    const common = ['--topic', 'bench-tls', '--warmup', '0', '--size', '64', ...CLIENT_FLAGS];
    const produce = await cli(['bench', 'produce', '--messages', '200', ...common]);
    expect(produce.code).toBe(0);
    expect(JSON.parse(produce.stdout.trim().split('\n').at(-1)!)).toMatchObject({ messages: 200 });
    const e2e = await cli(['bench', 'e2e', '--rate', '100', '--duration', '1', ...common]);
    expect(e2e.code).toBe(0);
    expect(JSON.parse(e2e.stdout.trim().split('\n').at(-1)!).received).toBe(100);
  });

  it('without a client certificate: refused, TLS_HANDSHAKE_FAILED on stderr, exit 1', async () => {
    const result = await cli(['topic', 'list', '--tls-ca', fixture('ca.pem')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('TLS_HANDSHAKE_FAILED');
  });

  it('a key without its certificate, or a file that is not there: a clear error naming the flag', async () => {
    const keyOnly = await cli(['topic', 'list', '--tls-key', fixture('client-key.pem')]);
    expect(keyOnly.code).toBe(1);
    expect(keyOnly.stderr).toContain('--tls-key needs --tls-cert');
    const missing = await cli(['topic', 'list', '--tls-ca', fixture('missing.pem')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--tls-ca: cannot read .*missing\.pem/);
  });

  it('plain TCP to the TLS listener gets no answer: the command fails', async () => {
    const result = await cli(['topic', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toBe('');
  });
});
