/**
 * Plain data shared by the Raft core, its storage and its drivers. Everything here is serialisable
 * (numbers, strings, Uint8Array), so the simulator can snapshot it and the transport can encode it.
 */

/** A node id. 0 means "none" (no vote, no known leader). */
export type NodeId = number;
export const NONE: NodeId = 0;

export type EntryType = 'normal' | 'conf-change';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to Raft: a record batch for a partition, a command for the metadata store. */
  readonly data: Uint8Array;
}

/** What must be durable before this node answers a vote or an append: Raft's persistent state. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

/** The membership: voters count towards quorums, learners only receive the log. */
export interface ConfState {
  /** The voters (in a joint configuration: the incoming voters). */
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /**
   * Only in a joint configuration (Raft §6): the outgoing voters. Elections and commits then need a
   * majority of both sets; the leader leaves the joint configuration automatically.
   */
  readonly votersOutgoing?: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  /** The membership as of `index`; a node restoring the snapshot adopts it. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export const EMPTY_SNAPSHOT: Snapshot = {
  metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
  data: new Uint8Array(0),
};

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/**
 * Volatile state the driver reports but never persists. Reported when the role or leader changes, and when
 * a leader leads again in a new term (it stepped down and won again before the driver took a Ready): the
 * driver's bookkeeping of a leadership (producer state, in-sync set, epochs) belongs to one term.
 */
export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId;
  /** The term this state is of. */
  readonly term: number;
}

export interface ReadState {
  /** The commit index at the time of the request: a read served once applied >= index is linearizable. */
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * The result of `RaftLogStorage.entries` and `term`. `unavailable` is the partition-log case: the entry
 * exists but only on disk, and the driver must load it asynchronously before the core can send it;
 * `compacted` means it was folded into a snapshot and the follower needs the snapshot instead.
 */
export type LogReadError = 'compacted' | 'unavailable';

/**
 * The synchronous read view of the durable log that the core replicates from.
 *
 * Contract:
 * - `firstIndex()` is the first entry still held (snapshot index + 1); `lastIndex()` the last durable one
 *   (`firstIndex() - 1` when empty).
 * - `term(i)` answers for `firstIndex()-1 <= i <= lastIndex()` (the snapshot's own index included);
 *   below that it is `compacted`.
 * - `entries(lo, hi, maxBytes)` returns entries `[lo, hi)`, at least one entry if any exists, and may
 *   return a shorter prefix than asked (byte limit, or the rest not in memory). It returns
 *   `unavailable` when not even the first entry can be read synchronously. Entries above the applied
 *   index must always be readable (the core hands them to the state machine); only older entries, which
 *   the leader needs for lagging followers, may be `unavailable`.
 *
 * The memory and level stores keep the whole un-compacted log in memory, so they never answer
 * `unavailable`. A partition segment log (DESIGN.md section 3) will implement this over its in-memory tail
 * cache plus the segment files: entries whose bytes are only on disk answer `unavailable`, the driver reads
 * them in the background, and the core retries on the follower's next heartbeat response. The entry data
 * there is the record batch exactly as stored, so replication never re-encodes a batch.
 */
export interface RaftLogStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  firstIndex(): number;
  lastIndex(): number;
  term(index: number): number | LogReadError;
  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | LogReadError;
  snapshot(): Snapshot;
  /**
   * What the leader sends a follower whose next entry is compacted; default `snapshot()`. A store whose
   * log is the data (a partition's) answers with one near its first entry, so the follower then receives
   * the whole log the leader still holds rather than starting at the leader's latest snapshot.
   */
  catchUpSnapshot?(): Snapshot;
}

export type MessageType =
  | 'app'
  | 'app-resp'
  | 'vote'
  | 'vote-resp'
  | 'pre-vote'
  | 'pre-vote-resp'
  | 'heartbeat'
  | 'heartbeat-resp'
  | 'snap'
  | 'prop'
  | 'timeout-now'
  | 'read-index'
  | 'read-index-resp';

/**
 * One Raft message. A flat shape (like etcd's raftpb.Message) keeps encoding trivial; fields a type does
 * not use are zero. The group a message belongs to is added by the driver's envelope, never here.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** app: term of the entry preceding `entries`; vote: candidate's last log term; reject hint term. */
  readonly logTerm: number;
  /** app: index preceding `entries`; vote: candidate's last index; app-resp: matched/rejected index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** app-resp rejections: the follower's hint at where the logs may agree (fast backoff). */
  readonly rejectHint: number;
  readonly snapshot?: Snapshot;
  /** read-index request context, or a campaign marker ("transfer") on votes. */
  readonly context?: Uint8Array;
  /**
   * heartbeat only: the leader goes quiet (RaftCore.quiesce): every member holds and has committed its whole
   * log, so the follower stops its election timer until anything else arrives.
   */
  readonly quiesce?: boolean;
}

export type ConfChangeType = 'add-learner' | 'add-voter' | 'remove';

/** One membership step. `add-voter` on an existing learner promotes it. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

export interface Ready {
  /** Present only when it changed since the last Ready. */
  readonly hardState?: HardState;
  /** Persist before sending `messages`. */
  readonly entries: readonly Entry[];
  /** Persist (and restore into the state machine) before applying anything else. */
  readonly snapshot?: Snapshot;
  /** Send after the entries, hard state and snapshot are durable. */
  readonly messages: readonly Message[];
  /** Apply in order after persisting. */
  readonly committedEntries: readonly Entry[];
  /** False only when nothing Raft relies on for safety changed (then a write may skip the fsync). */
  readonly mustSync: boolean;
  readonly readStates: readonly ReadState[];
  /** Present only when role or leader changed. */
  readonly softState?: SoftState;
}
