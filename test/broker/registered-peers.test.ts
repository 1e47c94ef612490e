/**
 * followRegisteredPeers: the transport's peers follow the metadata registry. A registered broker becomes a
 * peer, an unregistered one stops being one (also when a restored snapshot no longer lists it, and when the
 * log replayed at start registers then unregisters it) once it is out of the metadata group too, and one
 * that registers again is a peer again.
 */
import { describe, expect, it } from 'vitest';
import { followRegisteredPeers } from '../../src/broker/registered-peers.js';
import { encodeCommand, type MetadataCommand } from '../../src/metadata/commands.js';
import { MetadataStateMachine } from '../../src/metadata/state-machine.js';
import type { PeerAddress } from '../../src/raft/transport/tcp-transport.js';
import { register } from '../metadata/fixtures.js';

const SELF = 1;

/** A transport that keeps the peer set it was told, and every call in order. */
function fakeTransport() {
  const peers = new Map<number, string>();
  const calls: string[] = [];
  return {
    peers,
    calls,
    setPeer(id: number, address: PeerAddress) {
      peers.set(id, `${address.host}:${address.port}`);
      calls.push(`set ${id}`);
    },
    removePeer(id: number) {
      peers.delete(id);
      calls.push(`remove ${id}`);
    },
  };
}

/** A metadata group whose members the test sets, announcing each change as a conf change would. */
function fakeGroup(initial: number[]) {
  let members = initial;
  const listeners = new Set<() => void>();
  return {
    members: () => members,
    onChange(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next: number[]) {
      members = next;
      for (const l of listeners) l();
    },
  };
}

/** Only the founding voters, which never leave in these tests. */
const noGroup = fakeGroup([1, 2, 3]);

function machine() {
  const sm = new MetadataStateMachine();
  let index = 0;
  const apply = (c: MetadataCommand) =>
    sm.apply({ term: 1, index: ++index, type: 'normal', data: encodeCommand(c, null) });
  return { sm, apply };
}

describe('followRegisteredPeers', () => {
  it('makes registered brokers peers (not itself) and removes one once it is unregistered', () => {
    const { sm, apply } = machine();
    const transport = fakeTransport();
    followRegisteredPeers(sm, transport, SELF, noGroup);
    for (const id of [1, 2, 3, 4]) apply(register(id));
    expect([...transport.peers.keys()].sort()).toEqual([2, 3, 4]);

    expect(apply({ type: 'unregisterBroker', brokerId: 4 }).ok).toBe(true);
    expect([...transport.peers.keys()].sort()).toEqual([2, 3]);
    expect(transport.calls.filter((c) => c.endsWith(' 4'))).toEqual(['set 4', 'remove 4']);
    // Heartbeats and other commands change nothing.
    apply({ type: 'heartbeat', beats: [{ brokerId: 2, atMs: 2_000 }] });
    expect(transport.calls.at(-1)).toBe('remove 4');
  });

  it('an unregistered broker still in the metadata group stays a peer until its removal from the group applies', () => {
    // The group replicates to it meanwhile: the log tells it that it was unregistered.
    const { sm, apply } = machine();
    const transport = fakeTransport();
    const group = fakeGroup([1, 2, 3]);
    followRegisteredPeers(sm, transport, SELF, group);
    apply(register(4));
    group.set([1, 2, 3, 4]); // added as a learner
    apply({ type: 'unregisterBroker', brokerId: 4 });
    expect([...transport.peers.keys()]).toEqual([4]);
    group.set([1, 2, 3]); // remove-learner applied
    expect([...transport.peers.keys()]).toEqual([]);
    expect(transport.calls).toEqual(['set 4', 'remove 4']);
  });

  it('a broker registered again after leaving becomes a peer again, at its new address', () => {
    const { sm, apply } = machine();
    const transport = fakeTransport();
    followRegisteredPeers(sm, transport, SELF, noGroup);
    apply(register(4));
    apply({ type: 'unregisterBroker', brokerId: 4 });
    apply(register(4, { peerAddress: { host: '127.0.0.1', port: 9999 } }));
    expect(transport.peers.get(4)).toBe('127.0.0.1:9999');
    expect(transport.calls).toEqual(['set 4', 'remove 4', 'set 4']);
  });

  it('replaying a log that registers then unregisters a broker ends with it not a peer', () => {
    // The log as a restarted broker replays it: subscribed before the first entry applies.
    const { sm, apply } = machine();
    const transport = fakeTransport();
    followRegisteredPeers(sm, transport, SELF, noGroup);
    const log: MetadataCommand[] = [
      register(1),
      register(2),
      register(4),
      { type: 'updateBroker', brokerId: 4, state: 'decommissioned' },
      { type: 'unregisterBroker', brokerId: 4 },
      register(3),
    ];
    for (const c of log) apply(c);
    expect([...transport.peers.keys()].sort()).toEqual([2, 3]);
  });

  it('a restored snapshot that no longer lists a broker removes it; one that lists another adds it', () => {
    const source = machine();
    for (const id of [1, 2, 3]) source.apply(register(id));
    const snapshot = source.sm.snapshot();

    const { sm, apply } = machine();
    const transport = fakeTransport();
    followRegisteredPeers(sm, transport, SELF, noGroup);
    apply(register(4));
    expect([...transport.peers.keys()]).toEqual([4]);
    sm.restore(snapshot);
    expect([...transport.peers.keys()].sort()).toEqual([2, 3]);
  });

  it('starts from the current view, and stops following when told to', () => {
    const { sm, apply } = machine();
    apply(register(2));
    const transport = fakeTransport();
    const group = fakeGroup([1, 2]);
    const stop = followRegisteredPeers(sm, transport, SELF, group);
    expect([...transport.peers.keys()]).toEqual([2]);
    stop();
    apply({ type: 'unregisterBroker', brokerId: 2 });
    group.set([1]);
    expect([...transport.peers.keys()]).toEqual([2]);
  });
});
