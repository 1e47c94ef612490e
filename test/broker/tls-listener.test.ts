/**
 * The client listener over TLS (broker.tls.*), single node and as the one voter of a cluster: a client that
 * trusts the broker's CA produces and consumes; one that does not, or that brings no certificate to a broker
 * requiring one, fails at once with TLS_HANDSHAKE_FAILED (never retried: the same certificates would meet the
 * same refusal); a plain-TCP client gets nothing from a TLS port, and the broker goes on serving. Certificates
 * that do not load stop the start with the file named. Fixtures: scripts/make-test-certs.sh.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { ClientTlsOptions, StreamBusClient } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { perTestBroker, singleVoterCluster, startInProcessBroker } from '../helpers/in-process-broker.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tls');
const fixture = (name: string) => join(FIXTURES, name);
const pem = (name: string) => readFileSync(fixture(name));

const TLS = {
  'broker.tls.enabled': true,
  'broker.tls.cert_file': fixture('broker.pem'),
  'broker.tls.key_file': fixture('broker-key.pem'),
  'broker.tls.ca_file': fixture('ca.pem'),
};
const MUTUAL = { ...TLS, 'broker.tls.client_auth': 'required' };

const fixtureBroker = perTestBroker();

function client(tls: ClientTlsOptions | undefined, requestTimeoutMs = 10_000): StreamBusClient {
  return fixtureBroker.client({ requestTimeoutMs, ...(tls === undefined ? {} : { tls }) });
}

async function roundTrip(c: StreamBusClient, topic: string): Promise<string[]> {
  await c.admin().createTopic({ name: topic, partitions: 1 });
  await c.producer().send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) });
  const consumer = c.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
  await consumer.assign([{ topic }]);
  const seen: string[] = [];
  while (seen.length < 3) seen.push(...(await consumer.poll()).map((m) => m.value!.toString()));
  await consumer.close();
  return seen;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

for (const mode of ['single node', 'one-voter cluster'] as const) {
  describe(`the client listener over TLS (${mode})`, () => {
    const start = async (settings: Record<string, unknown>) => {
      await fixtureBroker.start({
        ...settings,
        ...(mode === 'single node' ? {} : await singleVoterCluster()),
      });
    };

    it('serves a client that trusts its CA; refuses one that does not, at once; a plain client gets nothing', async () => {
      await start(TLS);
      expect(await roundTrip(client({ ca: pem('ca.pem') }), 'secure')).toEqual(['a', 'b', 'c']);

      const distrusting = client({ ca: pem('other-ca.pem') });
      expect(await codeOf(distrusting.admin().listTopics())).toBe('TLS_HANDSHAKE_FAILED');
      // A producer's send fails with it too, not after a delivery timeout of retries.
      const producer = distrusting.producer({ deliveryTimeoutMs: 600_000 });
      expect(await codeOf(producer.send({ topic: 'secure', messages: [{ value: 'x' }] }))).toBe(
        'TLS_HANDSHAKE_FAILED',
      );

      expect(await codeOf(client(undefined, 1_000).admin().listTopics())).not.toBe('resolved');
      // The broker still serves TLS clients.
      const names = (
        await client({ ca: pem('ca.pem') })
          .admin()
          .listTopics()
      ).map((t) => t.name);
      expect(names).toContain('secure');
    });

    it('with client_auth required: a client certificate from the CA is served, none is refused', async () => {
      await start(MUTUAL);
      const withCert = client({ ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client-key.pem') });
      expect(await roundTrip(withCert, 'mutual')).toEqual(['a', 'b', 'c']);
      expect(
        await codeOf(
          client({ ca: pem('ca.pem') })
            .admin()
            .listTopics(),
        ),
      ).toBe('TLS_HANDSHAKE_FAILED');
    });
  });
}

describe('TLS settings that cannot work stop the start', () => {
  it('enabled without a certificate or key, client_auth or peer TLS without a CA: names the key', () => {
    const load = (overrides: Record<string, unknown>) => () => loadConfig({ env: {}, overrides });
    expect(load({ 'broker.tls.enabled': true })).toThrow(/broker\.tls\.cert_file: required/);
    expect(load({ 'broker.tls.enabled': true })).toThrow(/broker\.tls\.key_file: required/);
    expect(load({ ...TLS, 'broker.tls.ca_file': null, 'broker.tls.client_auth': 'required' })).toThrow(
      /broker\.tls\.ca_file: required/,
    );
    expect(load({ 'broker.tls.client_auth': 'sometimes' })).toThrow(/broker\.tls\.client_auth/);
    // The peer link is mutual TLS: each side checks the other against the CA.
    expect(load({ 'cluster.peer_tls': true })).toThrow(
      /broker\.tls\.ca_file: required when cluster\.peer_tls/,
    );
  });

  it('a file that cannot be read, or a key that is not the certificate’s: INVALID_CONFIG naming it', async () => {
    const dataDir = tempDir();
    try {
      const missing = startInProcessBroker({ ...TLS, 'broker.tls.key_file': fixture('nope.pem') }, dataDir);
      await expect(missing).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await expect(missing).rejects.toThrow(/broker\.tls\.key_file: cannot read .*nope\.pem/);
      const mismatched = startInProcessBroker(
        { ...TLS, 'broker.tls.key_file': fixture('client-key.pem') },
        dataDir,
      );
      await expect(mismatched).rejects.toThrow(/broker\.tls: the certificate .*broker\.pem.* do not load/);
    } finally {
      removeDir(dataDir);
    }
  });
});
