/**
 * Operator changes of the metadata quorum (what Kafka's AddRaftVoter and RemoveRaftVoter do, KIP-853):
 * promote a metadata learner (a registered broker outside the voters) to voter, or demote a voter. A
 * demoted voter stays a learner: the cluster coordinator adds every registered broker that is not a member
 * as one. One voter at a time (Raft's single-server changes, §4.1), proposed on the metadata leader.
 *
 * Each change is refused unless the voter set it leads to has a majority that answers now: with one
 * voter of three dead, removing a live one would leave two voters that both must answer, and the metadata
 * group would stop committing (heartbeats, topic changes) until the dead one came back.
 */
import { StreamBusError } from '../errors/index.js';
import type { BrokerState } from '../metadata/types.js';
import type { QuorumAction, QuorumMembership } from '../protocol/messages.js';
import type { FollowerProgress } from '../raft/core/raft.js';
import type { ConfState, NodeId } from '../raft/core/types.js';
import type { CallOptions, RaftNodeStatus } from '../raft/node-types.js';
import type { Deadline } from '../resilience/index.js';

/**
 * How far (in entries) a learner may trail the commit index and still be promoted: it receives every entry
 * the voters do, so one that answers is at most a few in-flight appends behind; one further back (still
 * installing a snapshot) would make the new majority wait for it.
 */
export const PROMOTION_LAG_MAX = 64;

export interface QuorumChangeDeps {
  readonly raft: {
    status(): RaftNodeStatus;
    progress(): FollowerProgress[];
    proposeConfChange(
      cc: { type: 'add-voter' | 'remove'; nodeId: NodeId },
      options?: CallOptions,
    ): Promise<ConfState>;
  };
  /** The registered brokers' states (the metadata leader's image). */
  readonly brokerState: (brokerId: number) => BrokerState | undefined;
  /** Whether a broker's Raft traffic arrived lately (ClusterNode.peerAnswering). */
  readonly answering: (brokerId: number) => boolean;
}

/** Makes `brokerId` a voter (`add-voter`) or no longer one (`remove-voter`); resolves with the new membership. */
export async function alterQuorum(
  deps: QuorumChangeDeps,
  brokerId: number,
  action: QuorumAction,
  deadline?: Deadline,
): Promise<QuorumMembership> {
  const operation = `quorum.${action}`;
  const s = deps.raft.status();
  if (s.role !== 'leader') {
    throw new StreamBusError('NOT_LEADER', {
      operation,
      message: `broker ${s.id} does not lead the metadata group (leader: ${s.leaderId > 0 ? s.leaderId : 'unknown'})`,
    });
  }
  if (s.votersOutgoing.length > 0) {
    throw new StreamBusError('CONFIG_CHANGE_IN_PROGRESS', {
      operation,
      message: 'a membership change is applying',
    });
  }
  const refuse = (why: string) =>
    new StreamBusError('INVALID_CONFIG_CHANGE', { operation, message: `broker ${brokerId} ${why}` });
  const unknown = () =>
    new StreamBusError('UNKNOWN_BROKER', { operation, message: `no broker ${brokerId} is registered` });
  let next: readonly NodeId[];
  if (action === 'add-voter') {
    if (s.voters.includes(brokerId)) return membership(s);
    const state = deps.brokerState(brokerId);
    if (state === undefined) throw unknown();
    if (state !== 'alive') throw refuse(`is ${state}; only an alive broker becomes a voter`);
    const progress = deps.raft.progress().find((p) => p.id === brokerId);
    if (!s.learners.includes(brokerId) || progress === undefined) {
      throw new StreamBusError('CONFIG_CHANGE_IN_PROGRESS', {
        operation,
        message: `broker ${brokerId} is not a metadata learner yet (the coordinator adds registered brokers); try again`,
      });
    }
    if (s.commitIndex - progress.match > PROMOTION_LAG_MAX) {
      throw new StreamBusError('CONFIG_CHANGE_IN_PROGRESS', {
        operation,
        message: `broker ${brokerId} trails the metadata log (${progress.match} of ${s.commitIndex} committed); try again once it caught up`,
      });
    }
    next = [...s.voters, brokerId];
  } else {
    // A voter that is no longer registered (a dead one) is still removable; an id that is neither is a typo.
    if (!s.voters.includes(brokerId)) {
      if (deps.brokerState(brokerId) === undefined) throw unknown();
      return membership(s);
    }
    if (s.voters.length === 1) throw refuse('is the only voter; add another voter first');
    next = s.voters.filter((id) => id !== brokerId);
  }
  const answering = next.filter((id) => id === s.id || deps.answering(id));
  if (answering.length * 2 <= next.length) {
    throw refuse(
      `cannot ${action === 'add-voter' ? 'join' : 'leave'} the voters: of the voters that would remain (${next.join(', ')}) only ${answering.join(', ') || 'none'} answer, not a majority`,
    );
  }
  const options: CallOptions =
    deadline === undefined ? {} : { signal: deadline.signal, timeoutMs: deadline.remainingMs() };
  const conf = await deps.raft.proposeConfChange(
    { type: action === 'add-voter' ? 'add-voter' : 'remove', nodeId: brokerId },
    options,
  );
  return { voters: [...conf.voters], learners: [...conf.learners] };
}

function membership(s: RaftNodeStatus): QuorumMembership {
  return { voters: [...s.voters], learners: [...s.learners] };
}
