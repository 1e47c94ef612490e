/**
 * Only a decommission of this process's own registration stops a broker's membership: replaying the
 * metadata log at start meets its earlier incarnation's decommission and unregistration, and the broker
 * must register anew then (operations.md), not stop on history (seen: a decommissioned broker restarted on
 * its data dir never registered again).
 */
import { describe, expect, it } from 'vitest';
import { DecommissionWatch } from '../../src/broker/decommission-watch.js';
import type { MetadataChange } from '../../src/metadata/state-machine.js';
import type { BrokerRecord } from '../../src/metadata/types.js';
import { silentLogger } from '../../src/observability/index.js';

/** A state machine holding only broker 4's record, telling the watch of each change to it. */
function fakeMetadata() {
  let record: Partial<BrokerRecord> | undefined;
  let version = 0;
  const listeners: ((change: MetadataChange) => void)[] = [];
  const apply = (command: { type: string; brokerId: number; state?: string }): void => {
    version++;
    const change = { kind: 'applied', index: version, command, result: { ok: true, version }, version };
    for (const l of listeners) l(change as MetadataChange);
  };
  return {
    stateMachine: {
      subscribe: (l: (change: MetadataChange) => void) => {
        listeners.push(l);
        return () => undefined;
      },
      view: () => ({ brokers: new Map(record === undefined ? [] : [[4, record]]) }) as never,
    },
    register(): number {
      record = { id: 4, state: 'starting', registeredVersion: version + 1 };
      apply({ type: 'registerBroker', brokerId: 4 });
      return version;
    },
    decommission(): void {
      record = { ...record, state: 'decommissioned' };
      apply({ type: 'updateBroker', brokerId: 4, state: 'decommissioned' });
    },
    unregister(): void {
      record = undefined;
      apply({ type: 'unregisterBroker', brokerId: 4 });
    },
  };
}

function watch(md: ReturnType<typeof fakeMetadata>) {
  const retired: string[] = [];
  const w = new DecommissionWatch(4, md.stateMachine, silentLogger());
  w.follow({ setRetired: (reason: string) => retired.push(reason) });
  return { w, retired };
}

describe('DecommissionWatch', () => {
  it('a decommission of its own registration stops it; the unregistration after it retires it', () => {
    const md = fakeMetadata();
    const { w, retired } = watch(md);
    w.registered(md.register());
    expect(w.decommissioned).toBe(false);
    md.decommission();
    expect(w.decommissioned).toBe(true);
    expect(w.leftCluster).toBe(false);
    md.unregister();
    expect(w.leftCluster).toBe(true);
    expect(retired).toEqual(['decommissioned: left the cluster; stop this broker']);
  });

  it('history replayed at start (an earlier incarnation decommissioned and unregistered) stops nothing', () => {
    const md = fakeMetadata();
    const { w, retired } = watch(md);
    md.register();
    md.decommission();
    md.unregister();
    expect([w.decommissioned, w.leftCluster, retired]).toEqual([false, false, []]);
    // Registered anew by this process: a member like any other, until decommissioned again.
    w.registered(md.register());
    expect(w.decommissioned).toBe(false);
    md.decommission();
    expect(w.decommissioned).toBe(true);
  });

  it('a decommission applied before the registration reached the watch still counts', () => {
    const md = fakeMetadata();
    const { w } = watch(md);
    const version = md.register();
    md.decommission();
    expect(w.decommissioned).toBe(false);
    w.registered(version);
    expect(w.decommissioned).toBe(true);
  });

  it("an earlier incarnation's decommissioned record is not this registration's", () => {
    const md = fakeMetadata();
    const { w } = watch(md);
    md.register();
    md.decommission();
    w.registered(1_000);
    expect(w.decommissioned).toBe(false);
  });
});
