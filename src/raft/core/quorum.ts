import type { ConfChange, ConfState, Entry, NodeId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

/** The largest index acknowledged by a majority of `voters`. An empty set commits nothing new. */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[Math.floor(voters.length / 2)]!;
}

export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

export function isQuorum(voters: readonly NodeId[], ids: ReadonlySet<NodeId>): boolean {
  let n = 0;
  for (const v of voters) if (ids.has(v)) n++;
  return n >= Math.floor(voters.length / 2) + 1;
}

export function isJoint(cs: ConfState): boolean {
  return cs.votersOutgoing !== undefined && cs.votersOutgoing.length > 0;
}

/** Every node whose vote counts: the voters plus, in a joint configuration, the outgoing voters. */
export function allVoters(cs: ConfState): NodeId[] {
  if (!isJoint(cs)) return [...cs.voters];
  return [...new Set([...cs.voters, ...cs.votersOutgoing!])].sort((a, b) => a - b);
}

/** Commit point of a (possibly joint) configuration: agreed by a majority of each voter set. */
export function jointCommittedIndex(cs: ConfState, matchOf: (id: NodeId) => number): number {
  const incoming = committedIndex(cs.voters, matchOf);
  return isJoint(cs) ? Math.min(incoming, committedIndex(cs.votersOutgoing!, matchOf)) : incoming;
}

export function jointVoteResult(cs: ConfState, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = voteResult(cs.voters, votes);
  if (!isJoint(cs)) return a;
  const b = voteResult(cs.votersOutgoing!, votes);
  if (a === b) return a;
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}

export function jointIsQuorum(cs: ConfState, ids: ReadonlySet<NodeId>): boolean {
  return isQuorum(cs.voters, ids) && (!isJoint(cs) || isQuorum(cs.votersOutgoing!, ids));
}

function sorted(s: ReadonlySet<NodeId>): NodeId[] {
  return [...s].sort((a, b) => a - b);
}

/** One change applied to plain voter/learner sets; returns an error string when invalid. */
function applyStep(voters: Set<NodeId>, learners: Set<NodeId>, cc: ConfChange): string | undefined {
  if (!Number.isInteger(cc.nodeId) || cc.nodeId <= 0) return `invalid node id ${cc.nodeId}`;
  switch (cc.type) {
    case 'add-learner':
      if (voters.has(cc.nodeId)) return `node ${cc.nodeId} is already a voter`;
      learners.add(cc.nodeId);
      return undefined;
    case 'add-voter':
      if (voters.has(cc.nodeId)) return `node ${cc.nodeId} is already a voter`;
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      return undefined;
    case 'remove':
      if (!voters.has(cc.nodeId) && !learners.has(cc.nodeId)) return `node ${cc.nodeId} is not a member`;
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      return undefined;
  }
}

/**
 * Applies one membership step (Raft dissertation §4.1): changing one voter at a time keeps any two
 * consecutive majorities overlapping without a joint configuration. The leader enforces that at most one
 * change is pending. Returns an error string for a change that is not valid from `cs`.
 */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState | string {
  if (isJoint(cs)) return 'a joint configuration must be left first';
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  if (cc.type === 'remove' && voters.has(cc.nodeId) && voters.size === 1)
    return 'cannot remove the last voter';
  const err = applyStep(voters, learners, cc);
  if (err !== undefined) return err;
  return { voters: sorted(voters), learners: sorted(learners) };
}

/**
 * Enters a joint configuration (Raft §6) applying several changes at once: the current voters become
 * the outgoing set, the changed set the incoming one, and until the leader leaves the joint configuration
 * every decision needs a majority of both.
 */
export function enterJoint(cs: ConfState, changes: readonly ConfChange[]): ConfState | string {
  if (isJoint(cs)) return 'already in a joint configuration';
  if (changes.length === 0) return 'a joint change needs at least one change';
  if (new Set(changes.map((c) => c.nodeId)).size !== changes.length)
    return 'a node may change once per joint change';
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  for (const cc of changes) {
    const err = applyStep(voters, learners, cc);
    if (err !== undefined) return err;
  }
  if (voters.size === 0) return 'cannot remove every voter';
  return { voters: sorted(voters), learners: sorted(learners), votersOutgoing: [...cs.voters] };
}

export function leaveJoint(cs: ConfState): ConfState | string {
  if (!isJoint(cs)) return 'not in a joint configuration';
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

const CONF_TYPES: readonly ConfChange['type'][] = ['add-learner', 'add-voter', 'remove'];
const ENTER_JOINT = 0x80;
const LEAVE_JOINT = 0x81;

export type ConfEntry =
  | { readonly kind: 'simple'; readonly change: ConfChange }
  | { readonly kind: 'enter-joint'; readonly changes: readonly ConfChange[] }
  | { readonly kind: 'leave-joint' };

function writeChange(view: DataView, at: number, cc: ConfChange): void {
  view.setUint8(at, CONF_TYPES.indexOf(cc.type));
  view.setUint32(at + 1, cc.nodeId);
}

function readChange(view: DataView, at: number): ConfChange | undefined {
  const type = CONF_TYPES[view.getUint8(at)];
  return type === undefined ? undefined : { type, nodeId: view.getUint32(at + 1) };
}

/**
 * Conf-change entry payloads (stable on disk and wire):
 *   simple       u8 type, u32 node id (big-endian)                     5 bytes
 *   enter joint  u8 0x80, u8 count, count x (u8 type, u32 node id)
 *   leave joint  u8 0x81
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(5);
  writeChange(new DataView(out.buffer), 0, cc);
  return out;
}

export function encodeEnterJoint(changes: readonly ConfChange[]): Uint8Array {
  const out = new Uint8Array(2 + 5 * changes.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, ENTER_JOINT);
  view.setUint8(1, changes.length);
  changes.forEach((cc, i) => {
    writeChange(view, 2 + 5 * i, cc);
  });
  return out;
}

export function encodeLeaveJoint(): Uint8Array {
  return new Uint8Array([LEAVE_JOINT]);
}

export function decodeConfEntry(data: Uint8Array): ConfEntry | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength === 5) {
    const change = readChange(view, 0);
    return change === undefined ? undefined : { kind: 'simple', change };
  }
  if (data.byteLength === 1 && data[0] === LEAVE_JOINT) return { kind: 'leave-joint' };
  if (data.byteLength < 2 || data[0] !== ENTER_JOINT) return undefined;
  const count = view.getUint8(1);
  if (data.byteLength !== 2 + 5 * count) return undefined;
  const changes: ConfChange[] = [];
  for (let i = 0; i < count; i++) {
    const cc = readChange(view, 2 + 5 * i);
    if (cc === undefined) return undefined;
    changes.push(cc);
  }
  return { kind: 'enter-joint', changes };
}

/** The configuration after a conf-change entry, or an error string (the entry is then a no-op). */
export function applyConfEntry(cs: ConfState, entry: ConfEntry): ConfState | string {
  switch (entry.kind) {
    case 'simple':
      return applyConfChange(cs, entry.change);
    case 'enter-joint':
      return enterJoint(cs, entry.changes);
    case 'leave-joint':
      return leaveJoint(cs);
  }
}

/**
 * The log every founding member of a new group starts with: one `add-voter` entry per voter at term 1,
 * already committed. Identical on every founder, and a node that joins later replays the same entries,
 * so every member derives the membership from the log alone (the etcd bootstrap approach).
 */
export function bootstrapEntries(voters: readonly NodeId[]): Entry[] {
  return [...voters]
    .sort((a, b) => a - b)
    .map((nodeId, i) => ({
      term: 1,
      index: i + 1,
      type: 'conf-change' as const,
      data: encodeConfChange({ type: 'add-voter', nodeId }),
    }));
}
