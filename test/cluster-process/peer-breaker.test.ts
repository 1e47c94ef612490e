/**
 * The Raft transport's per-peer circuit breaker in a real three-broker cluster: when broker 3 is killed, the
 * breaker broker 1 keeps for it (`raft-peer-3`, broker 1 dials 3) opens, visible in /metrics and in a warn
 * log line, while its breaker for the live broker 2 stays closed; when broker 3 is back, the breaker
 * closes again. Needs `npm run build` first (the tests spawn dist/cmd/streambus.js).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker-process.js';
import {
  agreedLeader,
  formedCluster,
  HOST,
  raftView,
  startClusterBroker,
  startThreeBrokerCluster,
  until,
} from '../helpers/cluster-processes.js';

async function breakerState(b: BrokerProcess, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://${HOST}:${b.httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const line = (await res.text())
      .split('\n')
      .find((l) => l.startsWith('circuitbreaker_state{') && l.includes(`name="${name}"`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  } catch {
    return undefined;
  }
}

describe('Raft peer circuit breaker across broker processes', () => {
  const dirs = [tempDir('streambus-pb-1-'), tempDir('streambus-pb-2-'), tempDir('streambus-pb-3-')];
  const running: BrokerProcess[] = [];

  afterAll(async () => {
    // Each process by its own handle (its PID), never by pattern.
    await Promise.all(running.map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });

  it('opens raft-peer-3 on broker 1 while broker 3 is down, and closes it once broker 3 is back', async () => {
    running.push(...(await startThreeBrokerCluster(dirs)));
    // Formed, not only led: a broker is ready before every registration has reached its metadata (under
    // load, seconds before), and broker 3's peer address is read from broker 1's registry below.
    await until('a formed cluster', () => formedCluster(running), 30_000);
    const [b1, b2, b3] = running as [BrokerProcess, BrokerProcess, BrokerProcess];
    // The voter list and broker 3's peer port, to restart it as it was.
    const view = await raftView(b1);
    const peers = new Map((view.brokers ?? []).map((b) => [b.id, (b as { peer?: string }).peer]));
    const voters = [1, 2, 3].map((id) => `${id}@${peers.get(id)}`).join(',');
    const peerPort3 = Number(peers.get(3)?.split(':')[1]);
    expect(peerPort3).toBeGreaterThan(0);
    await until('raft-peer-3 closed on broker 1', async () =>
      (await breakerState(b1, 'raft-peer-3')) === 0 ? true : undefined,
    );

    await b3.kill();
    running.splice(running.indexOf(b3), 1);
    await until(
      'raft-peer-3 open on broker 1',
      async () => ((await breakerState(b1, 'raft-peer-3')) === 1 ? true : undefined),
      30_000,
      200,
    );
    expect(await breakerState(b1, 'raft-peer-2')).toBe(0);
    const logged = b1.logs
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.msg === 'circuit breaker raft-peer-3 opened');
    expect(logged).toMatchObject({
      operation: 'circuit_breaker.transition',
      breaker: 'raft-peer-3',
      to: 'open',
    });

    const restarted = await startClusterBroker({
      id: 3,
      dataDir: dirs[2] as string,
      peerPort: peerPort3,
      voters,
    });
    running.push(restarted);
    await until(
      'raft-peer-3 closed again on broker 1 and 2',
      async () =>
        (await breakerState(b1, 'raft-peer-3')) === 0 && (await breakerState(b2, 'raft-peer-3')) === 0
          ? true
          : undefined,
      30_000,
      200,
    );
    await until('the cluster agrees on a leader again', () => agreedLeader(running), 30_000);
  }, 120_000);
});
