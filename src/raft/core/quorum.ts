import type { ConfChange, ConfState, NodeId } from './types.js';

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

/**
 * Applies one membership step. StreamBus changes one voter at a time (Raft dissertation §4.1), which
 * keeps any two consecutive majorities overlapping without joint consensus; the leader enforces that at
 * most one change is pending. Returns an error string for a change that is not valid from `cs`.
 */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState | string {
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  if (!Number.isInteger(cc.nodeId) || cc.nodeId <= 0) return `invalid node id ${cc.nodeId}`;
  switch (cc.type) {
    case 'add-learner':
      if (voters.has(cc.nodeId)) return `node ${cc.nodeId} is already a voter`;
      learners.add(cc.nodeId);
      break;
    case 'add-voter':
      if (voters.has(cc.nodeId)) return `node ${cc.nodeId} is already a voter`;
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case 'remove':
      if (!voters.has(cc.nodeId) && !learners.has(cc.nodeId)) return `node ${cc.nodeId} is not a member`;
      if (voters.has(cc.nodeId) && voters.size === 1) return 'cannot remove the last voter';
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      break;
  }
  return { voters: [...voters].sort((a, b) => a - b), learners: [...learners].sort((a, b) => a - b) };
}

const CONF_TYPES: readonly ConfChange['type'][] = ['add-learner', 'add-voter', 'remove'];

/** Conf-change entry payload: u8 type, u32 node id (big-endian). Tiny and stable. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(5);
  const view = new DataView(out.buffer);
  view.setUint8(0, CONF_TYPES.indexOf(cc.type));
  view.setUint32(1, cc.nodeId);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange | undefined {
  if (data.byteLength !== 5) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = CONF_TYPES[view.getUint8(0)];
  if (type === undefined) return undefined;
  return { type, nodeId: view.getUint32(1) };
}
