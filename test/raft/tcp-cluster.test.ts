import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/raft/core/index.js';
import { RaftNode } from '../../src/raft/node.js';
import { LevelRaftStorage } from '../../src/raft/storage/level-storage.js';
import { type PeerAddress, TcpTransport } from '../../src/raft/transport/tcp-transport.js';
import { enc, ListMachine, waitFor } from './node-helpers.js';

interface Proc {
  id: NodeId;
  node: RaftNode;
  sm: ListMachine;
  storage: LevelRaftStorage;
  transport: TcpTransport;
}

const root = mkdtempSync(join(tmpdir(), 'raft-tcp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function boot(
  id: NodeId,
  ids: readonly NodeId[],
  addrs: Map<NodeId, PeerAddress>,
  port = 0,
): Promise<Proc> {
  const storage = await LevelRaftStorage.open(join(root, `n${id}`), ids);
  const transport = new TcpTransport({ nodeId: id, port });
  addrs.set(id, await transport.listen());
  const sm = new ListMachine();
  const node = new RaftNode({ id, storage, stateMachine: sm, transport }); // production defaults: 100 ms ticks
  return { id, node, sm, storage, transport };
}

describe('3 RaftNodes over TCP on loopback with level storage', () => {
  it('elects a new leader after the leader is killed, and loses no committed entry', async () => {
    const ids = [1, 2, 3];
    const addrs = new Map<NodeId, PeerAddress>();
    const procs = new Map<NodeId, Proc>();
    for (const id of ids) procs.set(id, await boot(id, ids, addrs));
    for (const p of procs.values()) {
      for (const [peer, addr] of addrs) p.transport.setPeer(peer, addr);
      await p.node.start();
    }
    const leaderOf = (exclude?: NodeId) =>
      [...procs.values()].find((p) => p.id !== exclude && p.node.status().role === 'leader');
    try {
      const first = await waitFor('first leader', () => leaderOf(), 10_000);
      const committed: string[] = [];
      for (let i = 0; i < 20; i++) {
        await first.node.propose(enc(`before-${i}`));
        committed.push(`before-${i}`);
      }

      // Kill: no leadership handoff, sockets torn down, the db handle dropped.
      const killedAt = performance.now();
      await first.node.stop();
      await first.transport.close();
      await first.storage.close();
      procs.delete(first.id);

      const next = await waitFor('a new leader', () => leaderOf(first.id), 10_000);
      const failoverMs = performance.now() - killedAt;
      console.log(
        `tcp cluster: new leader ${next.id} elected ${failoverMs.toFixed(0)} ms after killing ${first.id}`,
      );
      expect(failoverMs).toBeLessThan(10_000);

      await next.node.propose(enc('after'));
      committed.push('after');
      for (const p of procs.values()) {
        await waitFor(`node ${p.id} applied`, () => p.sm.items.length === committed.length, 10_000);
        expect(p.sm.items).toEqual(committed);
      }

      // The killed node restarts from disk, rejoins and catches up.
      const back = await boot(first.id, ids, addrs, addrs.get(first.id)!.port);
      for (const [peer, addr] of addrs) back.transport.setPeer(peer, addr);
      procs.set(first.id, back);
      await back.node.start();
      await waitFor('restarted node caught up', () => back.sm.items.length === committed.length, 10_000);
      expect(back.sm.items).toEqual(committed);
    } finally {
      for (const p of procs.values()) {
        await p.node.stop();
        await p.transport.close();
        await p.storage.close();
      }
    }
  });
});
