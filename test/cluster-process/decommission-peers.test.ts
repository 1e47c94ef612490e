/**
 * A decommissioned broker, once unregistered and stopped, is left alone by the others (QA: brokers 1-3
 * kept logging `circuit breaker raft-peer-4 opened` every second for minutes and through restarts, with
 * `circuitbreaker_state{name="raft-peer-4"} 1` in /metrics). Three voters and a fourth broker that joins,
 * is decommissioned and stopped: no broker logs anything more about raft-peer-4 nor exports its breakers (peer and health probe),
 * also after a restart replays the log that registered it; started again, broker 4 registers anew and
 * is a peer again. Needs `npm run build` first (the tests spawn dist/cmd/streambus.js).
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { agreedLeader, brokerFleet, HOST, raftView, until } from '../helpers/cluster-processes.js';

const PEER_4 = 'raft-peer-4';
/** The metadata leader's health-probe breaker of broker 4 (probe-breakers.ts). */
const PROBE_4 = 'probe-broker-4';

async function breakerGauge(b: BrokerProcess, name: string): Promise<number | undefined> {
  const res = await fetch(`http://${HOST}:${b.httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
  const line = (await res.text())
    .split('\n')
    .find((l) => l.startsWith('circuitbreaker_state{') && l.includes(`name="${name}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Log lines of `b` from line `from` on that name broker 4's peer breaker. */
function peer4Lines(b: BrokerProcess, from = 0): string[] {
  return b.logs.slice(from).filter((l) => l.includes(PEER_4));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a decommissioned broker after it has left', () => {
  const { running, clients, start } = brokerFleet('decom-peers', 4);

  it('is no longer dialed nor reported by the others once unregistered and stopped, also after a restart; started again, it is a peer again', async () => {
    await Promise.all([start(1), start(2), start(3)]);
    const voters = () => [1, 2, 3].map((id) => running.get(id) as BrokerProcess);
    await until('a metadata leader', () => agreedLeader(voters()), 30_000);
    await start(4);
    const survivor = () => running.get(1) as BrokerProcess;
    const registered = async (id: number) =>
      ((await raftView(survivor())).brokers ?? []).some((b) => b.id === id && b.state === 'alive');
    await until('broker 4 registered alive', async () => ((await registered(4)) ? true : undefined), 20_000);
    await until('broker 1 has a breaker for broker 4', async () =>
      (await breakerGauge(survivor(), PEER_4)) === 0 ? true : undefined,
    );

    await until('the metadata leader probes broker 4', async () => {
      for (const b of voters()) if ((await breakerGauge(b, PROBE_4)) === 0) return true;
      return undefined;
    });

    const client = createClient({ bootstrap: voters().map((b) => b.bootstrap), requestTimeoutMs: 5_000 });
    clients.push(client);
    expect(await client.admin().alterBroker(4, 'decommission')).toBe('decommissioned');
    await until(
      'broker 4 unregistered',
      async () => (((await raftView(survivor())).brokers ?? []).some((b) => b.id === 4) ? undefined : true),
      30_000,
    );
    // Still replicated to until it is out of the metadata group, it learns it was unregistered.
    const fourth = running.get(4) as BrokerProcess;
    await until('broker 4 knows it has left the cluster', async () =>
      fourth.logs.some((l) => l.includes('has left the cluster')) ? true : undefined,
    );
    await fourth.stop();
    running.delete(4);

    // Five failed dials in a row open a breaker (backoff up to 1 s each): watch for longer than that takes.
    const marks = voters().map((b) => b.logs.length);
    await sleep(8_000);
    for (const [i, b] of voters().entries()) {
      expect(peer4Lines(b, marks[i])).toEqual([]);
      expect(await breakerGauge(b, PEER_4)).toBeUndefined();
      expect(await breakerGauge(b, PROBE_4)).toBeUndefined();
    }

    // A restart replays the metadata log, broker 4's registration included.
    await survivor().stop();
    await start(1);
    await until('a metadata leader after the restart', () => agreedLeader(voters()), 30_000);
    await sleep(8_000);
    expect(peer4Lines(survivor())).toEqual([]);
    expect(await breakerGauge(survivor(), PEER_4)).toBeUndefined();

    // Broker 4 back, on its own data dir: replaying its log meets its earlier decommission, which is
    // history (decommission-watch.ts); it registers anew and is dialed again.
    await start(4);
    await until('broker 4 registered again', async () => ((await registered(4)) ? true : undefined), 20_000);
    await until('broker 1 has a breaker for broker 4 again', async () =>
      (await breakerGauge(survivor(), PEER_4)) === 0 ? true : undefined,
    );
  }, 150_000);
});
