/**
 * The metadata group's membership as this broker's own log states it, read before Raft starts. The peer
 * transport is built first, and how it connects depends on it: a broker named in cluster.voters that the
 * group has removed (remove-voter, then decommission) and that is restarted on its old data dir must join
 * like a new broker. The others stopped dialing it once it left (registered-peers.ts) and a founding
 * voter dials only higher ids, so it would wait forever for a connection nobody opens. A removed voter
 * whose log does not say so yet (it was down) finds out later, from silence (leader-search.ts).
 *
 * What counts is whether the log says it votes, not whether it is a member at all: the coordinator adds a
 * removed voter back as a learner, and removes that learner only after unregistering it, so a broker
 * stopped in between (it already says it left) restarts with a log that still names it a learner. A
 * learner that joins like a new broker loses nothing: it dials every voter it knows, which accept it.
 *
 * Every conf-change entry counts, committed or not (the latest configuration in the log, as in the Raft
 * dissertation, section 4.1), unlike the core, which applies one once committed: the leader stops
 * replicating to a member as soon as it applies its removal, so the removed broker may hold that entry
 * without ever learning it committed. The answer only decides how this broker connects (it dials every
 * voter it knows and registers through them, as a new broker does), never how it votes.
 */
import { applyConfEntry, decodeConfEntry } from '../raft/core/quorum.js';
import type { ConfState, NodeId, RaftLogStorage } from '../raft/core/types.js';

/** Entries read per page while scanning the log (the metadata log is held in memory; this bounds copies). */
const SCAN_PAGE_ENTRIES = 1_024;

/** The configuration after the last conf-change entry of `storage` (its snapshot's when there is none). */
export function latestConfState(storage: RaftLogStorage): ConfState {
  let conf = storage.initialState().confState;
  const last = storage.lastIndex();
  for (let lo = storage.firstIndex(); lo <= last; lo += SCAN_PAGE_ENTRIES) {
    const page = storage.entries(lo, Math.min(last + 1, lo + SCAN_PAGE_ENTRIES), Number.POSITIVE_INFINITY);
    if (typeof page === 'string') return conf; // compacted under us: cannot happen before Raft starts
    for (const e of page) {
      if (e.type !== 'conf-change') continue;
      const decoded = decodeConfEntry(e.data);
      const next = decoded === undefined ? undefined : applyConfEntry(conf, decoded);
      // An invalid change is a no-op on every node (RaftCore.applyConfEntry): skip it here too.
      if (next !== undefined && typeof next !== 'string') conf = next;
    }
  }
  return conf;
}

/** A voter of `conf`, incoming or outgoing (a learner is not). */
export function isVoterOf(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || (conf.votersOutgoing ?? []).includes(id);
}
