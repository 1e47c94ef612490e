import { MemoryForwarder } from '../../src/metadata/forwarder.js';
import { MetadataStateMachine } from '../../src/metadata/state-machine.js';
import { MetadataStore, type MetadataStoreOptions } from '../../src/metadata/store.js';
import type { NodeId } from '../../src/raft/core/index.js';
import { mulberry32 } from '../../src/raft/core/index.js';
import { RaftNode, type RaftNodeOptions } from '../../src/raft/node.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import type { RaftStorage } from '../../src/raft/storage/types.js';
import type { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import type { RaftTransport } from '../../src/raft/transport/types.js';
import { waitFor } from '../helpers/wait-for.js';

export interface MetaMember {
  id: NodeId;
  node: RaftNode;
  sm: MetadataStateMachine;
  store: MetadataStore;
  storage: RaftStorage;
  transport: RaftTransport;
}

export interface MetaCluster {
  hub: MemoryHub;
  forwarder: MemoryForwarder;
  members: Map<NodeId, MetaMember>;
}

/** Fast ticks (10 ms, elections in 100-200 ms) so failover tests take a fraction of a second. */
export async function startMetaMember(
  cluster: MetaCluster,
  id: NodeId,
  storage: RaftStorage,
  storeOptions: Partial<MetadataStoreOptions> = {},
  raftOptions: Partial<RaftNodeOptions> = {},
): Promise<MetaMember> {
  const sm = new MetadataStateMachine();
  const transport = cluster.hub.transport(id);
  const node = new RaftNode({
    id,
    storage,
    stateMachine: sm,
    transport,
    tickIntervalMs: 10,
    electionTimeoutTicks: 10,
    random: mulberry32(id),
    ...raftOptions,
  });
  const store = new MetadataStore({
    raft: node,
    stateMachine: sm,
    forwarder: cluster.forwarder.forNode(id),
    attemptTimeoutMs: 1_000,
    retry: { baseDelayMs: 10, maxDelayMs: 200 },
    random: mulberry32(1000 + id),
    ...storeOptions,
  });
  cluster.forwarder.register(id, store);
  await node.start();
  const member = { id, node, sm, store, storage, transport };
  cluster.members.set(id, member);
  return member;
}

export async function startMetaCluster(
  hub: MemoryHub,
  ids: readonly NodeId[] = [1, 2, 3],
  storeOptions: Partial<MetadataStoreOptions> = {},
): Promise<MetaCluster> {
  const cluster: MetaCluster = { hub, forwarder: MemoryForwarder.create(), members: new Map() };
  for (const id of ids) await startMetaMember(cluster, id, MemoryRaftStorage.bootstrap(ids), storeOptions);
  return cluster;
}

export async function stopMember(cluster: MetaCluster, id: NodeId): Promise<void> {
  const m = cluster.members.get(id);
  if (m === undefined) return;
  cluster.forwarder.unregister(id);
  await m.node.stop();
  m.sm.close();
  await m.transport.close();
  await m.storage.close();
  cluster.members.delete(id);
}

export async function stopMetaCluster(cluster: MetaCluster | undefined): Promise<void> {
  if (cluster === undefined) return;
  for (const id of [...cluster.members.keys()]) await stopMember(cluster, id);
}

export function leaderOf(cluster: MetaCluster): MetaMember | undefined {
  for (const m of cluster.members.values()) if (m.node.status().role === 'leader') return m;
  return undefined;
}

export function followersOf(cluster: MetaCluster): MetaMember[] {
  return [...cluster.members.values()].filter((m) => m.node.status().role !== 'leader');
}

export { waitFor } from '../helpers/wait-for.js';

/** Waits until every member has applied up to `version` and the same entries; returns their snapshots (hex). */
export async function converged(cluster: MetaCluster, version: number): Promise<string[]> {
  await waitFor(`all replicas at version ${version}, at the same applied index`, () => {
    const members = [...cluster.members.values()];
    const applied = members[0]?.sm.appliedIndex;
    return members.every((m) => m.sm.version >= version && m.sm.appliedIndex === applied);
  });
  return [...cluster.members.values()].map((m) => Buffer.from(m.sm.snapshot()).toString('hex'));
}

export const addr = (port: number) => ({ host: '127.0.0.1', port });
