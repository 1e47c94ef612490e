/**
 * The broker's certificate renewed while it runs (broker.tls.reload_interval): new connections get the new
 * certificate without a restart, on the client listener and on the peer link (cluster.peer_tls); files that
 * do not load are logged and the current certificate kept. Fixtures: scripts/make-test-certs.sh (the
 * "intruder" certificate, signed by another CA, stands for the renewed one: a client tells them apart by the
 * CA it trusts).
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { freePorts } from '../helpers/cluster-processes.js';
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

/** The broker's certificate files, copied where a test can renew them. */
function certFiles(): { cert: string; key: string; ca: string } {
  const certDir = tempDir();
  dirs.push(certDir);
  const files = {
    cert: join(certDir, 'tls.pem'),
    key: join(certDir, 'tls-key.pem'),
    ca: join(certDir, 'ca.pem'),
  };
  copyFileSync(fixture('broker.pem'), files.cert);
  copyFileSync(fixture('broker-key.pem'), files.key);
  copyFileSync(fixture('ca.pem'), files.ca);
  return files;
}

/**
 * Whether a new connection to the peer listener at `port` completes its handshake for a peer holding the
 * "intruder" files: it trusts only other-ca and presents a certificate other-ca signed.
 */
function renewedPeerConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: PEER_HOST,
      port,
      ca: readFileSync(fixture('other-ca.pem')),
      cert: readFileSync(fixture('intruder.pem')),
      key: readFileSync(fixture('intruder-key.pem')),
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    // A refused client certificate can end the connection without an error on this side.
    socket.once('close', () => resolve(false));
  });
}

const PEER_HOST = '127.0.3.1';

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

  it('presents a renewed certificate to new peer connections (cluster.peer_tls); keeps it when the files do not load', async () => {
    const files = certFiles();
    const [peerPort] = await freePorts(1, PEER_HOST);
    const { logger, lines } = captureLogger();
    broker = await startInProcessBroker(
      {
        'broker.listen': `${PEER_HOST}:0`,
        'health.http.bind_address': PEER_HOST,
        'broker.id': 1,
        'cluster.enabled': true,
        'cluster.peer_listen': `${PEER_HOST}:${peerPort}`,
        'cluster.voters': `1@${PEER_HOST}:${peerPort}`,
        'cluster.peer_tls': true,
        'broker.tls.cert_file': files.cert,
        'broker.tls.key_file': files.key,
        'broker.tls.ca_file': files.ca,
        'broker.tls.reload_interval': 100,
      },
      undefined,
      { logger },
    );
    const port = broker.broker.cluster!.peerAddress.port;
    expect(await renewedPeerConnects(port)).toBe(false);

    // Renewal to another CA: the certificate, its key and the CA that now signs the peers' certificates.
    copyFileSync(fixture('intruder-key.pem'), files.key);
    copyFileSync(fixture('intruder.pem'), files.cert);
    copyFileSync(fixture('other-ca.pem'), files.ca);
    const deadline = Date.now() + 10_000;
    while (!(await renewedPeerConnects(port))) {
      if (Date.now() > deadline) throw new Error('the renewed peer certificate was not used within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }

    writeFileSync(files.cert, 'not a certificate');
    await waitFor('the failed reload logged', () =>
      lines().some((l) => l.msg === 'TLS certificate reload failed; keeping the current one'),
    );
    expect(await renewedPeerConnects(port)).toBe(true);
  });
});
