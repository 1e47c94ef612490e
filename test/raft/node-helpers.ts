import type { Entry, NodeId } from '../../src/raft/core/index.js';
import { mulberry32 } from '../../src/raft/core/index.js';
import { RaftNode, type RaftNodeOptions, type StateMachine } from '../../src/raft/node.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import type { RaftStorage } from '../../src/raft/storage/types.js';
import type { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import type { RaftTransport } from '../../src/raft/transport/types.js';

/** A state machine that records applied commands and answers each with its position. */
export class ListMachine implements StateMachine {
  items: string[] = [];
  restores = 0;

  apply(entry: Entry): unknown {
    const s = new TextDecoder().decode(entry.data);
    if (s === 'boom') throw new Error('cannot apply boom');
    this.items.push(s);
    return { position: this.items.length, index: entry.index };
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.items));
  }

  restore(data: Uint8Array): void {
    this.restores++;
    this.items = JSON.parse(new TextDecoder().decode(data)) as string[];
  }
}

export interface Member {
  node: RaftNode;
  sm: ListMachine;
  storage: RaftStorage;
  transport: RaftTransport;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export async function startMember(
  id: NodeId,
  hub: MemoryHub,
  storage: RaftStorage,
  extra: Partial<RaftNodeOptions> = {},
): Promise<Member> {
  const sm = new ListMachine();
  const transport = hub.transport(id);
  const node = new RaftNode({
    id,
    storage,
    stateMachine: sm,
    transport,
    tickIntervalMs: 10,
    electionTimeoutTicks: 10,
    random: mulberry32(id),
    ...extra,
  });
  await node.start();
  return { node, sm, storage, transport };
}

export async function startCluster(
  hub: MemoryHub,
  ids: readonly NodeId[],
  extra: Partial<RaftNodeOptions> = {},
) {
  const members = new Map<NodeId, Member>();
  for (const id of ids) members.set(id, await startMember(id, hub, MemoryRaftStorage.bootstrap(ids), extra));
  return members;
}

export { waitFor } from '../helpers/wait-for.js';

export function leaderOf(members: ReadonlyMap<NodeId, Member>, exclude: NodeId[] = []): Member | undefined {
  for (const [id, m] of members) {
    if (!exclude.includes(id) && m.node.status().role === 'leader') return m;
  }
  return undefined;
}

export async function stopAll(members: ReadonlyMap<NodeId, Member>): Promise<void> {
  for (const m of members.values()) {
    await m.node.stop();
    await m.transport.close();
    await m.storage.close();
  }
}
