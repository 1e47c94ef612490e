/**
 * The client listener's certificate renewed while the broker runs (broker.tls.reload_interval): new
 * connections get the new certificate without a restart; files that do not load are logged and the
 * current certificate kept. Fixtures: scripts/make-test-certs.sh (the "intruder" certificate, signed by
 * another CA, stands for the renewed one: a client tells them apart by the CA it trusts).
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { waitFor } from '../helpers/wait-for.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'tls', name);

let broker: InProcessBroker | undefined;
const clients: StreamBusClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await broker?.destroy();
  broker = undefined;
  for (const d of dirs.splice(0)) removeDir(d);
});

/** Whether a new client trusting `caName` lists topics (a new connection: the certificate served now). */
async function trusts(caName: string): Promise<boolean> {
  const c = createClient({
    bootstrap: broker!.bootstrap,
    requestTimeoutMs: 5_000,
    tls: { ca: readFileSync(fixture(caName)) },
  });
  clients.push(c);
  try {
    await c.admin().listTopics();
    return true;
  } catch {
    return false;
  }
}

describe('TLS certificate reload', () => {
  it('serves a renewed certificate to new connections; keeps the current one when the files do not load', async () => {
    const certDir = tempDir();
    dirs.push(certDir);
    const cert = join(certDir, 'tls.pem');
    const key = join(certDir, 'tls-key.pem');
    copyFileSync(fixture('broker.pem'), cert);
    copyFileSync(fixture('broker-key.pem'), key);
    const { logger, lines } = captureLogger();
    broker = await startInProcessBroker(
      {
        'broker.tls.enabled': true,
        'broker.tls.cert_file': cert,
        'broker.tls.key_file': key,
        'broker.tls.reload_interval': 100,
      },
      undefined,
      { logger },
    );
    expect(await trusts('ca.pem')).toBe(true);
    expect(await trusts('other-ca.pem')).toBe(false);

    // Renewal: the key first, then the certificate (a reload between the two fails and is tried again).
    copyFileSync(fixture('intruder-key.pem'), key);
    copyFileSync(fixture('intruder.pem'), cert);
    const deadline = Date.now() + 10_000;
    while (!(await trusts('other-ca.pem'))) {
      if (Date.now() > deadline) throw new Error('the renewed certificate was not served within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await trusts('ca.pem')).toBe(false);
    expect(lines().some((l) => l.msg === 'TLS certificate reloaded')).toBe(true);

    // A broken renewal: logged, and the current certificate stays.
    writeFileSync(cert, 'not a certificate');
    await waitFor('the failed reload logged', () =>
      lines().some((l) => l.msg === 'TLS certificate reload failed; keeping the current one'),
    );
    expect(await trusts('other-ca.pem')).toBe(true);
  });
});
