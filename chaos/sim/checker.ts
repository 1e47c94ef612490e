import type { Entry, NodeId } from '../../src/raft/core/index.js';
import type { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';

export class SimViolation extends Error {
  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(`${rule}: ${detail}`);
    this.name = 'SimViolation';
  }
}

export function fingerprint(e: Entry): string {
  let s = e.type === 'normal' ? 'n' : 'c';
  for (const b of e.data) s += b.toString(16).padStart(2, '0');
  return s;
}

/** An acknowledged client proposal: committed and applied at the leader, reported to the client. */
export interface Acked {
  readonly index: number;
  readonly term: number;
  readonly fp: string;
  /**
   * The configuration whose quorum committed it: the leader's configuration when its commit index moved.
   * With an asynchronous persist the simulator only knows it was one of these (the configuration can
   * change once between two Readies); empty when the node was no longer leader.
   */
  readonly configs: readonly VoterSets[];
}

export interface VoterSets {
  readonly voters: readonly NodeId[];
  /** In a joint configuration, the outgoing voters: a majority of them must hold it too. */
  readonly votersOutgoing?: readonly NodeId[];
}

function has(store: MemoryRaftStorage, index: number, term: number): boolean {
  if (index <= store.snapshot().metadata.index) return true;
  if (index > store.lastIndex()) return false;
  return store.term(index) === term;
}

/**
 * The Raft safety properties, checked incrementally so they can run after every event:
 *
 * - Election Safety: at most one leader per term.
 * - Log Matching: entries with the same (index, term) are identical and are preceded by the same term;
 *   by induction that makes the whole prefixes identical.
 * - Leader Completeness: a new leader's log holds every entry known to be committed.
 * - State Machine Safety: every node that applied index i has the same hash chain at i.
 * - Acknowledged proposals are durable (fsynced) on a majority of the voters that committed them.
 */
export class SafetyChecker {
  private readonly leaders = new Map<number, NodeId>();
  private readonly entries = new Map<string, { prevTerm: number; fp: string }>();
  private readonly committed = new Map<number, { term: number; fp: string }>();
  private readonly chains = new Map<number, number>();
  readonly acked: Acked[] = [];
  checks = 0;

  onLeader(id: NodeId, term: number, log: MemoryRaftStorage, unstable: readonly Entry[]): void {
    this.checks++;
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) {
      throw new SimViolation('election-safety', `term ${term} has two leaders: ${prev} and ${id}`);
    }
    this.leaders.set(term, id);
    const snapIndex = log.snapshot().metadata.index;
    const unstableFirst = unstable[0]?.index ?? Number.MAX_SAFE_INTEGER;
    for (const [index, c] of this.committed) {
      if (index <= snapIndex) continue;
      let t: number | string | undefined;
      if (index >= unstableFirst) t = unstable[index - unstableFirst]?.term;
      else if (index <= log.lastIndex()) t = log.term(index);
      if (t !== c.term) {
        throw new SimViolation(
          'leader-completeness',
          `leader ${id} of term ${term} lacks committed entry ${index} (term ${c.term}), has ${String(t)}`,
        );
      }
    }
  }

  /** Checks entries a node just stored; `termBefore(i)` reads the node's log after the write. */
  onStored(id: NodeId, ents: readonly Entry[], termBefore: (i: number) => number | undefined): void {
    for (const e of ents) {
      this.checks++;
      const prevTerm = termBefore(e.index - 1);
      const key = `${e.index}:${e.term}`;
      const fp = fingerprint(e);
      const known = this.entries.get(key);
      if (known === undefined) {
        if (prevTerm !== undefined) this.entries.set(key, { prevTerm, fp });
        continue;
      }
      if (known.fp !== fp) {
        throw new SimViolation('log-matching', `node ${id}: entry ${key} differs from another node's`);
      }
      if (prevTerm !== undefined && known.prevTerm !== prevTerm) {
        throw new SimViolation(
          'log-matching',
          `node ${id}: entry ${key} preceded by term ${prevTerm}, elsewhere by ${known.prevTerm}`,
        );
      }
    }
  }

  onCommitted(id: NodeId, e: Entry): void {
    this.checks++;
    const fp = fingerprint(e);
    const c = this.committed.get(e.index);
    if (c === undefined) this.committed.set(e.index, { term: e.term, fp });
    else if (c.term !== e.term || c.fp !== fp) {
      throw new SimViolation(
        'state-machine-safety',
        `node ${id} committed ${e.index}@${e.term}, another node committed ${e.index}@${c.term}`,
      );
    }
  }

  onApplied(id: NodeId, index: number, chain: number): void {
    this.checks++;
    const c = this.chains.get(index);
    if (c === undefined) this.chains.set(index, chain);
    else if (c !== chain) {
      throw new SimViolation('state-machine-safety', `node ${id} applied a different history up to ${index}`);
    }
  }

  onCommitIndex(id: NodeId, before: number, after: number): void {
    this.checks++;
    if (after < before) {
      throw new SimViolation(
        'commit-monotonic',
        `node ${id} commit index went back from ${before} to ${after}`,
      );
    }
  }

  onAck(a: Acked, durable: ReadonlyMap<NodeId, MemoryRaftStorage>): void {
    this.acked.push(a);
    this.checkDurable(a, durable);
  }

  /** Run after every crash: no acknowledged entry may have lost its durable majority. */
  checkAllAcked(durable: ReadonlyMap<NodeId, MemoryRaftStorage>): void {
    for (const a of this.acked) this.checkDurable(a, durable);
  }

  private checkDurable(a: Acked, durable: ReadonlyMap<NodeId, MemoryRaftStorage>): void {
    this.checks++;
    const c = this.committed.get(a.index);
    if (c !== undefined && (c.term !== a.term || c.fp !== a.fp)) {
      throw new SimViolation('acked-durable', `acknowledged entry ${a.index}@${a.term} was replaced`);
    }
    // Acked by a node that was no longer leader when it learnt of the commit: the committing
    // configuration is unknown here, so only the replacement check above applies.
    if (a.configs.length === 0) return;
    const counts: string[] = [];
    for (const cfg of a.configs) {
      let ok = true;
      for (const set of [cfg.voters, cfg.votersOutgoing ?? []]) {
        if (set.length === 0) continue;
        let n = 0;
        for (const v of set) {
          const store = durable.get(v);
          if (store !== undefined && has(store, a.index, a.term)) n++;
        }
        counts.push(`${n} of [${set.join(',')}]`);
        if (n < Math.floor(set.length / 2) + 1) ok = false;
      }
      if (ok) return;
    }
    throw new SimViolation(
      'acked-durable',
      `acknowledged entry ${a.index}@${a.term} is durable on only ${counts.join(' / ')}`,
    );
  }

  /** After convergence: every node that applied past an acked entry applied that entry. */
  checkAckedApplied(id: NodeId, applied: number, chain: number): void {
    this.onApplied(id, applied, chain);
    for (const a of this.acked) {
      if (a.index > applied) {
        throw new SimViolation('acked-lost', `node ${id} applied ${applied} < acknowledged entry ${a.index}`);
      }
    }
  }
}
