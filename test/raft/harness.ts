import {
  type Entry,
  type Message,
  mulberry32,
  type NodeId,
  RaftCore,
  type RaftCoreConfig,
} from '../../src/raft/core/index.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';

export interface TestNode {
  core: RaftCore;
  storage: MemoryRaftStorage;
  applied: Entry[];
  readStates: { index: number; context: Uint8Array }[];
}

export type CoreOverrides = Partial<Omit<RaftCoreConfig, 'id' | 'storage' | 'random'>>;

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * A synchronous, deterministic cluster of RaftCores for scripted tests: messages go into one FIFO and
 * are delivered by `flush()`; `drop` decides per message whether the network loses it.
 */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  private queue: Message[] = [];
  private readonly cut = new Set<string>();
  /** Extra loss rule (e.g. drop appends carrying a given index). */
  drop: (m: Message) => boolean = () => false;
  readonly sent: Message[] = [];

  constructor(
    voters: readonly NodeId[],
    private readonly overrides: CoreOverrides = {},
    storages?: ReadonlyMap<NodeId, MemoryRaftStorage>,
  ) {
    for (const id of voters) {
      this.add(id, storages?.get(id) ?? MemoryRaftStorage.bootstrap(voters));
    }
    this.process();
  }

  /** Adds a node with the given store (an empty store for a node joining later). */
  add(
    id: NodeId,
    storage: MemoryRaftStorage = new MemoryRaftStorage(),
    overrides: CoreOverrides = {},
  ): TestNode {
    const core = new RaftCore({
      id,
      storage,
      random: mulberry32(id * 7919),
      electionTimeoutTicks: 10,
      heartbeatIntervalTicks: 1,
      ...this.overrides,
      ...overrides,
    });
    const node: TestNode = { core, storage, applied: [], readStates: [] };
    this.nodes.set(id, node);
    return node;
  }

  /** Simulates a crash and restart from what is in storage (everything was synced). */
  restart(id: NodeId): TestNode {
    const old = this.node(id);
    return this.add(id, old.storage);
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Persists, sends and applies every pending Ready (the driver order). */
  process(): void {
    let again = true;
    while (again) {
      again = false;
      for (const n of this.nodes.values()) {
        const rd = n.core.ready();
        if (rd === null) continue;
        again = true;
        n.storage.save({
          entries: rd.entries,
          ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
          ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
        });
        for (const m of rd.messages) {
          this.sent.push(m);
          this.queue.push(m);
        }
        n.applied.push(...rd.committedEntries);
        n.readStates.push(...rd.readStates);
        n.core.advance(rd);
      }
    }
  }

  /** Delivers messages until the network is quiet. */
  flush(maxSteps = 100_000): void {
    this.process();
    for (let i = 0; i < maxSteps; i++) {
      const m = this.queue.shift();
      if (m === undefined) return;
      const to = this.nodes.get(m.to);
      if (to === undefined || this.cut.has(`${m.from}>${m.to}`) || this.drop(m)) continue;
      to.core.step(m);
      this.process();
    }
    throw new Error('network did not quiesce');
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.core(id).tick();
      this.flush();
    }
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.core.tick();
      this.flush();
    }
  }

  campaign(id: NodeId): void {
    this.core(id).campaign();
    this.flush();
  }

  /**
   * Ticks `ids` one after another, round by round, until one of them leads (at most `maxRounds`); returns the
   * new leader (undefined if none) and how many rounds it took.
   */
  ticksUntilLeader(ids: readonly NodeId[], maxRounds = 20): { leader: NodeId | undefined; rounds: number } {
    const leader = () => ids.find((id) => this.core(id).role === 'leader');
    let rounds = 0;
    while (leader() === undefined && rounds < maxRounds) {
      for (const id of ids) this.tick(id);
      rounds++;
    }
    return { leader: leader(), rounds };
  }

  leaders(): NodeId[] {
    return [...this.nodes.entries()].filter(([, n]) => n.core.role === 'leader').map(([id]) => id);
  }

  propose(id: NodeId, data: string): void {
    const r = this.core(id).propose(text(data));
    if (!r.ok) throw new Error(`propose on ${id} failed: ${r.reason}`);
    this.flush();
  }

  /** Normal entries applied by `id`, as strings (leader no-ops skipped). */
  appliedData(id: NodeId): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === 'normal' && e.data.byteLength > 0)
      .map((e) => str(e.data));
  }
}
