/**
 * `npm run bench:raft [-- --seconds S --concurrency C --payload BYTES]`: a 3-node Raft group on loopback
 * (TcpTransport, LevelRaftStorage with fsync on every append), closed-loop clients keeping C proposals
 * in flight at the leader. Proposals that arrive together are batched into one append and one fsync.
 * Prints progress, then one JSON line: committed proposals/s and commit latency p50/p99 (ms).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import type { NodeId } from '../../src/raft/core/index.js';
import { RaftNode, type StateMachine } from '../../src/raft/node.js';
import { LevelRaftStorage } from '../../src/raft/storage/level-storage.js';
import { type PeerAddress, TcpTransport } from '../../src/raft/transport/tcp-transport.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const seconds = arg('seconds', 10);
const concurrency = arg('concurrency', 256);
const payloadBytes = arg('payload', 128);

class CountingMachine implements StateMachine {
  applied = 0;
  apply(): unknown {
    this.applied++;
    return undefined;
  }
  snapshot(): Uint8Array {
    return new Uint8Array(8);
  }
  restore(): void {}
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'raft-bench-'));
  const ids: NodeId[] = [1, 2, 3];
  const addrs = new Map<NodeId, PeerAddress>();
  const parts: { node: RaftNode; storage: LevelRaftStorage; transport: TcpTransport }[] = [];
  for (const id of ids) {
    const storage = await LevelRaftStorage.open(join(root, `n${id}`), ids);
    const transport = new TcpTransport({ nodeId: id });
    addrs.set(id, await transport.listen());
    const node = new RaftNode({
      id,
      storage,
      transport,
      stateMachine: new CountingMachine(),
      maxPendingProposals: concurrency * 2,
      snapshotIntervalEntries: 50_000,
    });
    parts.push({ node, storage, transport });
  }
  for (const p of parts) for (const [peer, addr] of addrs) p.transport.setPeer(peer, addr);
  for (const p of parts) await p.node.start();

  const electStart = performance.now();
  let leader: RaftNode | undefined;
  while (leader === undefined) {
    await new Promise((r) => setTimeout(r, 20));
    leader = parts.find((p) => p.node.status().role === 'leader')?.node;
  }
  console.error(`leader ${leader.id} elected in ${(performance.now() - electStart).toFixed(0)} ms`);

  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const payload = new Uint8Array(payloadBytes).fill(7);
  const deadline = performance.now() + seconds * 1000;
  let committed = 0;
  let failed = 0;
  const started = performance.now();
  const progress = setInterval(() => console.error(`${committed} committed`), 1000);
  const target = leader;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await target.propose(payload);
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        committed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(progress);
  for (const p of parts) {
    await p.node.stop();
    await p.transport.close();
    await p.storage.close();
  }
  rmSync(root, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'raft',
      nodes: 3,
      fsync: true,
      concurrency,
      payloadBytes,
      seconds: Number(elapsed.toFixed(2)),
      committed,
      failed,
      proposalsPerSec: Math.round(committed / elapsed),
      commitLatencyP50Ms: histogram.getValueAtPercentile(50) / 1000,
      commitLatencyP99Ms: histogram.getValueAtPercentile(99) / 1000,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
