/**
 * The peer link's certificate renewed while the transport runs (TcpTransport.setTls, driven by the broker's
 * TLS reload): connections dialed and accepted after the renewal use the new files; an open connection keeps
 * going. Fixtures: scripts/make-test-certs.sh. "broker" (signed by ca) and "intruder" (signed by other-ca)
 * cover the same addresses, so only the CA tells them apart: a side holding one set of files cannot
 * handshake with a side holding the other.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Envelope, newMessage } from '../../src/raft/index.js';
import type { PeerTls } from '../../src/raft/transport/peer-sockets.js';
import { TcpTransport } from '../../src/raft/transport/tcp-transport.js';
import { waitFor } from './node-helpers.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', name));
const CURRENT: PeerTls = {
  cert: fixture('broker.pem'),
  key: fixture('broker-key.pem'),
  ca: fixture('ca.pem'),
};
const RENEWED: PeerTls = {
  cert: fixture('intruder.pem'),
  key: fixture('intruder-key.pem'),
  ca: fixture('other-ca.pem'),
};

const open: TcpTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** Node 1 (on 127.0.3.1) dials node 2 (on 127.0.3.2): the lower id dials. */
async function tlsPair(tlsA: PeerTls, tlsB: PeerTls) {
  const a = new TcpTransport({
    nodeId: 1,
    host: '127.0.3.1',
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
    tls: tlsA,
  });
  const b = new TcpTransport({
    nodeId: 2,
    host: '127.0.3.2',
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
    tls: tlsB,
  });
  open.push(a, b);
  const addrA = await a.listen();
  const addrB = await b.listen();
  a.setPeer(2, addrB);
  b.setPeer(1, addrA);
  const got: Envelope[] = [];
  b.onMessage((_from, envs) => got.push(...envs));
  return { a, b, got };
}

const hb = (term: number): Envelope => ({ groupId: 'g', message: newMessage('heartbeat', 1, 2, { term }) });

describe('TcpTransport: a renewed peer certificate', () => {
  it('is used by the connections it dials after the renewal', async () => {
    const { a, b, got } = await tlsPair(CURRENT, RENEWED);
    // Refused while a's files are the old ones (each side distrusts the other's CA): a dials again and again.
    await waitFor('two refused dials', () => a.dialsStarted >= 2);
    expect(a.isConnected(2)).toBe(false);
    a.setTls(RENEWED);
    await waitFor('connected on the renewed certificate', () => a.isConnected(2) && b.isConnected(1), 5_000);
    a.send(2, [hb(3)]);
    await waitFor('delivered', () => got.some((e) => e.message.term === 3));
  });

  it('is presented to the connections it accepts after the renewal', async () => {
    const { a, b, got } = await tlsPair(RENEWED, CURRENT);
    await waitFor('two refused dials', () => a.dialsStarted >= 2);
    expect(b.isConnected(1)).toBe(false);
    b.setTls(RENEWED);
    await waitFor('connected on the renewed certificate', () => a.isConnected(2) && b.isConnected(1), 5_000);
    a.send(2, [hb(4)]);
    await waitFor('delivered', () => got.some((e) => e.message.term === 4));
  });

  it('leaves an open connection carrying messages', async () => {
    const { a, b, got } = await tlsPair(CURRENT, CURRENT);
    await waitFor('connected', () => a.isConnected(2) && b.isConnected(1));
    const dials = a.dialsStarted;
    a.setTls(RENEWED);
    b.setTls(RENEWED);
    a.send(2, [hb(5)]);
    await waitFor('delivered on the open connection', () => got.some((e) => e.message.term === 5));
    expect(a.dialsStarted).toBe(dials);
  });
});
