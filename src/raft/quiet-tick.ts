import type { RaftCore } from './core/raft.js';
import { NONE, type NodeId } from './core/types.js';

/** What one tick did to a group that may go quiet (for the driver's scheduling and the simulators' counts). */
export type QuietTickOutcome = 'asleep' | 'pinged' | 'woke' | 'quiesced' | 'ticked';

/**
 * One tick of a group that may go quiet, given `isLive` (whether the host hears from a peer's process), as
 * RaftNode drives it and the simulators replay it. A quiet group only checks that the peers it relies on are
 * heard from, waking as on a lost connection when one is not, and now and then (`pingDue`) tells its leader
 * it is there (RaftCore.pingQuietLeader). An awake leader ticks and goes quiet when the group is idle; an
 * awake follower whose leader's process is silent campaigns soon (as peerLost), as a quiet one would: one
 * woken by a rival's pre-vote would otherwise wait out a whole election timeout from its wake.
 * `mayQuiesce` false keeps an awake leader from going quiet (a member's build may not know quiescence: the
 * cluster feature level gates it); everything else is as with it.
 */
export function quietTick(
  core: RaftCore,
  isLive: (id: NodeId) => boolean,
  pingDue: boolean,
  mayQuiesce = true,
): QuietTickOutcome {
  if (core.quiesced) {
    const silent = core.silentPeer(isLive);
    if (silent !== NONE) {
      core.peerLost(silent);
      return core.quiesced ? 'asleep' : 'woke';
    }
    if (!pingDue) return 'asleep';
    core.pingQuietLeader();
    return 'pinged';
  }
  core.tick();
  if (core.role === 'leader') return mayQuiesce && core.quiesce(isLive) ? 'quiesced' : 'ticked';
  const leader = core.leaderId;
  if (core.role === 'follower' && leader !== NONE && !isLive(leader)) core.peerLost(leader);
  return 'ticked';
}
