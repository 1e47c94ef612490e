/**
 * The next membership change a partition leader makes toward the metadata replica list (pure). Raft-style,
 * one step at a time: a new replica joins as a learner, is promoted to voter once it holds everything
 * committed, and only then does a replica that left stop voting, so a move never makes commits wait for a
 * replica still catching up. Learners that left are removed last.
 */
import type { ConfChange, NodeId } from '../../raft/core/types.js';

export interface GroupMembership {
  readonly self: NodeId;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly commitIndex: number;
  /** The leader's view of each member's match index. */
  readonly matchOf: (id: NodeId) => number | undefined;
}

export function nextMembershipChange(
  g: GroupMembership,
  replicas: readonly NodeId[],
): ConfChange | undefined {
  const missing = replicas.filter((id) => !g.voters.includes(id));
  const toAdd = missing.find((id) => !g.learners.includes(id));
  if (toAdd !== undefined) return { type: 'add-learner', nodeId: toAdd };
  const caughtUp = missing.find((id) => (g.matchOf(id) ?? -1) >= g.commitIndex);
  if (caughtUp !== undefined) return { type: 'add-voter', nodeId: caughtUp };
  const extraVoter = g.voters.find((id) => !replicas.includes(id) && id !== g.self);
  if (missing.length === 0 && extraVoter !== undefined) return { type: 'remove', nodeId: extraVoter };
  const extraLearner = g.learners.find((id) => !replicas.includes(id));
  return extraLearner === undefined ? undefined : { type: 'remove', nodeId: extraLearner };
}
