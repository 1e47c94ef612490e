import { NONE, type NodeId, type RaftCore } from '../../src/raft/core/index.js';

/**
 * One tick as a RaftHost gives it to a group that may go quiet (RaftNode.tick), for the simulators: a quiet
 * node only checks that the peers it relies on are heard from (alive, their link to it not cut), waking as
 * on a lost connection when one is not; an awake leader ticks and goes quiet whenever the group is idle.
 * Returns what happened to quiescence, for the simulators' statistics.
 */
export function hostedTick(
  core: RaftCore,
  self: NodeId,
  heard: (from: NodeId, to: NodeId) => boolean,
): 'quiesced' | 'woke' | undefined {
  const isLive = (peer: NodeId): boolean => heard(peer, self);
  if (core.quiesced) {
    const silent = core.silentPeer(isLive);
    if (silent === NONE) return undefined;
    core.peerLost(silent);
    return core.quiesced ? undefined : 'woke';
  }
  core.tick();
  return core.role === 'leader' && core.quiesce(isLive) ? 'quiesced' : undefined;
}
