/**
 * A broker that left the cluster is no longer dialed (QA: after a decommission, every other broker kept
 * dialing it and logging `circuit breaker raft-peer-4 opened` every second, through restarts, with
 * `circuitbreaker_state{name="raft-peer-4"} 1` in /metrics). One voter in process; broker 9 is a listener
 * the test holds, registered and unregistered straight through the metadata store (as the coordinator
 * unregisters an emptied decommissioned broker). Once unregistered and out of the metadata group (the
 * coordinator made it a learner, and removes it) it is not dialed again, and its breaker
 * series is gone, also after a restart replays the log that registers then unregisters it; registered
 * again, it is dialed again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SUPPORTED_FEATURE_LEVEL } from '../../src/metadata/feature-levels.js';
import { tempDir } from '../helpers/broker-process.js';
import {
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';
import { waitFor } from '../helpers/wait-for.js';

let b: InProcessBroker | undefined;
let server: Server | undefined;

afterEach(async () => {
  await b?.destroy();
  b = undefined;
  const s = server;
  server = undefined;
  if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
});

/** Broker 9's peer listener: counts the connections broker 1 opens, and closes each (it never answers). */
async function peerListener(): Promise<{ port: number; dials: () => number }> {
  let dials = 0;
  const s = createServer((socket: Socket) => {
    dials++;
    socket.on('error', () => undefined);
    socket.destroy();
  });
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const address = s.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return { port: address.port, dials: () => dials };
}

async function breakerGauge(httpPort: number, name: string): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return text.split('\n').find((l) => l.startsWith('circuitbreaker_state{') && l.includes(`"${name}"`));
}

function cluster(broker: InProcessBroker) {
  const c = broker.broker.cluster;
  if (c === null) throw new Error('expected a cluster-mode broker');
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a broker unregistered from metadata', () => {
  it('is not dialed again nor has a breaker series, also after a restart replays its registration; registered again, it is', async () => {
    const dataDir = tempDir();
    const overrides = await singleVoterCluster();
    const peer = await peerListener();
    b = await startInProcessBroker(overrides, dataDir);
    const store = cluster(b).store;
    await waitFor('broker 1 registered', () => store.snapshotView().brokers.has(1));
    const nine = {
      brokerId: 9,
      clientAddress: { host: '127.0.0.1', port: 1 },
      peerAddress: { host: '127.0.0.1', port: peer.port },
      featureLevel: SUPPORTED_FEATURE_LEVEL,
    };
    await store.registerBroker(nine);
    await waitFor('broker 1 dials broker 9 (the lower id dials)', () => peer.dials() >= 2);
    expect(await breakerGauge(b.httpPort, 'raft-peer-9')).toBeDefined();

    await store.unregisterBroker(9);
    // The coordinator then removes it from the metadata group (it made it a learner), and only then is it
    // no peer: until then the group replicates to it.
    const raft = cluster(b);
    await waitFor('broker 9 out of the metadata group', () => !raft.status().learners.includes(9));
    await sleep(100); // a dial already under way may still land
    const after = peer.dials();
    await sleep(2_500); // the redial backoff tops out at 1 s; the breaker would have opened by now
    expect(peer.dials()).toBe(after);
    expect(await breakerGauge(b.httpPort, 'raft-peer-9')).toBeUndefined();

    // A restart replays the log: broker 9 registered, then unregistered.
    await b.stop();
    b = await startInProcessBroker(overrides, dataDir);
    const restarted = cluster(b).store;
    await waitFor('broker 1 registered again', () => restarted.snapshotView().brokers.has(1));
    const replayed = peer.dials();
    expect(replayed - after).toBeLessThanOrEqual(1); // at most one dial while the log replays
    await sleep(2_500);
    expect(peer.dials()).toBe(replayed);
    expect(await breakerGauge(b.httpPort, 'raft-peer-9')).toBeUndefined();

    // A decommissioned broker restarted registers anew: a peer again.
    await restarted.registerBroker(nine);
    await waitFor('broker 9 dialed again', () => peer.dials() >= replayed + 2);
    expect(await breakerGauge(b.httpPort, 'raft-peer-9')).toBeDefined();
  }, 30_000);
});
