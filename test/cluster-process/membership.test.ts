/** runMembership against a fake store: register, mark alive, heartbeat; re-register when forgotten. */
import { describe, expect, it } from 'vitest';
import { type MembershipStore, runMembership } from '../../src/broker/membership.js';
import { StreamBusError } from '../../src/errors/index.js';
import { SUPPORTED_FEATURE_LEVEL } from '../../src/metadata/feature-levels.js';
import type { Logger } from '../../src/observability/index.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;

function fakeStore(script: { failHeartbeats: number; unknownOnce: boolean }) {
  const calls: string[] = [];
  const ok = { ok: true as const, version: 1 };
  // Each registration lands at its own metadata version (10, 20, ...): the beats after it name it.
  let registrations = 0;
  const store: MembershipStore = {
    registerBroker: async (b) => {
      calls.push(`register ${b.brokerId} ${b.clientAddress.port}/${b.peerAddress.port}`);
      registrations++;
      return { ok: true as const, version: registrations * 10 };
    },
    updateBroker: async (b) => {
      calls.push(`update ${b.brokerId} ${b.state}`);
      return ok;
    },
    heartbeat: async (beats) => {
      for (const beat of beats) {
        expect(beat.featureLevel).toBe(SUPPORTED_FEATURE_LEVEL);
      }
      calls.push(`heartbeat ${beats.map((x) => `${x.brokerId}@${x.registeredVersion}`).join(',')}`);
      if (script.unknownOnce) {
        script.unknownOnce = false;
        throw new StreamBusError('UNKNOWN_BROKER', { operation: 'metadata.heartbeat' });
      }
      if (script.failHeartbeats > 0) {
        script.failHeartbeats--;
        throw new StreamBusError('REQUEST_TIMED_OUT', { operation: 'metadata.heartbeat' });
      }
      return ok;
    },
  };
  return { store, calls };
}

async function runUntil(store: MembershipStore, calls: string[], count: number): Promise<void> {
  const controller = new AbortController();
  const done = runMembership({
    store,
    brokerId: 4,
    clientAddress: { host: 'h', port: 9092 },
    peerAddress: { host: 'h', port: 9093 },
    rack: null,
    intervalMs: 1,
    nowMs: () => 1_000,
    signal: controller.signal,
    logger: quiet,
  });
  while (calls.length < count) await new Promise((r) => setTimeout(r, 1));
  controller.abort();
  await done;
}

describe('runMembership', () => {
  it('stops for good once the broker is decommissioned, instead of registering again', async () => {
    const { store, calls } = fakeStore({ failHeartbeats: 0, unknownOnce: false });
    let decommissioned = false;
    const done = runMembership({
      store,
      brokerId: 4,
      clientAddress: { host: 'h', port: 9092 },
      peerAddress: { host: 'h', port: 9093 },
      rack: null,
      intervalMs: 1,
      nowMs: () => 1_000,
      signal: new AbortController().signal,
      logger: quiet,
      decommissioned: () => decommissioned,
    });
    while (calls.length < 3) await new Promise((r) => setTimeout(r, 1));
    decommissioned = true;
    await done; // resolves without an abort
    const count = calls.length;
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.length).toBe(count);
    expect(calls.slice(0, 3)).toEqual(['register 4 9092/9093', 'update 4 alive', 'heartbeat 4@10']);
  });

  it('registers with both addresses, marks the broker alive, then heartbeats, surviving failed rounds', async () => {
    const { store, calls } = fakeStore({ failHeartbeats: 2, unknownOnce: false });
    await runUntil(store, calls, 6);
    expect(calls.slice(0, 6)).toEqual([
      'register 4 9092/9093',
      'update 4 alive',
      'heartbeat 4@10',
      'heartbeat 4@10',
      'heartbeat 4@10',
      'heartbeat 4@10',
    ]);
  });

  it('registers again when a heartbeat says the broker is unknown', async () => {
    const { store, calls } = fakeStore({ failHeartbeats: 0, unknownOnce: true });
    await runUntil(store, calls, 6);
    expect(calls.slice(0, 6)).toEqual([
      'register 4 9092/9093',
      'update 4 alive',
      'heartbeat 4@10',
      'register 4 9092/9093',
      'update 4 alive',
      'heartbeat 4@20',
    ]);
  });
});
