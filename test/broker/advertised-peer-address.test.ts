/**
 * cluster.advertised_peer_listen: a broker registers the advertised peer address (a proxy or NAT in front of
 * its peer listener), so other brokers, which learn peer addresses from the broker registry, dial that one;
 * unset, it registers the address its listener bound. One voter, in process, read back via DescribeCluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { freePort, freePorts, until } from '../helpers/cluster-processes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

let b: InProcessBroker | undefined;
let client: StreamBusClient | undefined;

afterEach(async () => {
  await client?.close();
  await b?.destroy();
  client = undefined;
  b = undefined;
});

async function registeredPeerAddress(overrides: Record<string, unknown>): Promise<string> {
  b = await startInProcessBroker({ 'broker.id': 1, 'cluster.enabled': true, ...overrides });
  client = createClient({ bootstrap: [b.bootstrap], clientId: 'advertised-peer-test' });
  const admin = client.admin();
  // Registration runs in the background once the broker is up.
  return until('the broker to register', async () => {
    const res = await admin.describeCluster().catch(() => undefined);
    const self = res?.brokers.find((x) => x.id === 1);
    return self === undefined || self.peerPort === 0 ? undefined : `${self.peerHost}:${self.peerPort}`;
  });
}

describe('peer address a broker registers', () => {
  it('is cluster.advertised_peer_listen when set, not the listener', async () => {
    const [listenPort, advertisedPort] = await freePorts(2);
    const address = await registeredPeerAddress({
      'cluster.peer_listen': `127.0.0.1:${listenPort}`,
      'cluster.advertised_peer_listen': `127.0.0.1:${advertisedPort}`,
      'cluster.voters': `1@127.0.0.1:${advertisedPort}`,
    });
    expect(address).toBe(`127.0.0.1:${advertisedPort}`);
  });

  it('is the bound peer listener when nothing is advertised', async () => {
    const listenPort = await freePort();
    const address = await registeredPeerAddress({
      'cluster.peer_listen': `127.0.0.1:${listenPort}`,
      'cluster.voters': `1@127.0.0.1:${listenPort}`,
    });
    expect(address).toBe(`127.0.0.1:${listenPort}`);
  });
});
