import type { StreamBusError } from '../../errors/index.js';
import type {
  AlterPartitionAssignmentsRequest,
  BrokerAction,
  BrokerInfo,
  ClusterBrokerState,
  DescribeClusterResponse,
  QuorumAction,
  QuorumMembership,
} from '../../protocol/messages.js';
import type { Deadline } from '../../resilience/deadline.js';
import type { ReadBufferPool, ReadBufferSource } from '../../storage/read-buffers.js';
import type { TopicCatalog } from '../catalog.js';
import type { ClientQuotaLimits } from '../client-quota-limits.js';
import type { ClientQuotaStore } from '../client-quota-store.js';
import type { GroupCoordinator } from '../groups/group-coordinator.js';

/** Data-plane events handlers report; the observability layer turns them into metrics. */
export interface DataPlaneObserver {
  onProduced(topic: string, messages: number, bytes: number): void;
  onFetched(topic: string, messages: number, bytes: number): void;
  /** Of those, what this broker read from its follower copy for a consumer (fetch from followers). */
  onFetchedAsFollower?(topic: string, messages: number, bytes: number): void;
  /** One partition of a request failed (DISK_FULL, OFFSET_OUT_OF_RANGE, ...) while the request succeeded. */
  onPartitionError?(operation: string, err: StreamBusError): void;
}

export interface HandlerLimits {
  fetchWaitMaxMs: number;
  fetchBytesMax: number;
  /** What a stored batch's records may decompress to (as on produce); default DECOMPRESSED_RECORDS_BYTES_MAX. */
  decompressedBytesMax?: number;
  /**
   * How long a SyncGroup may wait for the group leader's assignment (its session timeout at most: a
   * leader that goes silent is evicted and the waiting members are answered). Default: no allowance.
   */
  groupSyncWaitMaxMs?: number;
}

export interface Clock {
  nowMs(): number;
}

/** What a DescribeCluster answer is built from besides the cluster source: this broker's own facts. */
export type LocalBrokerFacts = Pick<HandlerContext, 'self' | 'clusterId' | 'catalog'>;

/** The DescribeCluster source: the metadata quorum in cluster mode, this broker alone otherwise. */
export type ClusterInfoProvider = (local: LocalBrokerFacts) => DescribeClusterResponse;

export interface HandlerContext {
  readonly clock: Clock;
  readonly catalog: TopicCatalog;
  readonly limits: HandlerLimits;
  readonly self: BrokerInfo;
  /**
   * The cluster id answered in Metadata and DescribeCluster: read per request (in a cluster it is recorded in
   * metadata some time after start).
   */
  readonly clusterId: () => string;
  readonly brokerVersion: string;
  readonly observer: DataPlaneObserver;
  /** Aborted when the broker starts draining: long polls answer at once with what they have. */
  readonly shutdownSignal: AbortSignal;
  /** DescribeCluster's source (see broker/cluster-info.ts); absent means a single-node broker. */
  readonly clusterInfo?: ClusterInfoProvider;
  /**
   * AlterBroker's effect (cluster mode): resolves with the broker's new state; absent on a single node. Its
   * metadata proposal carries the request's deadline.
   */
  readonly alterBroker?: (
    brokerId: number,
    action: BrokerAction,
    deadline: Deadline,
  ) => Promise<ClusterBrokerState>;
  /**
   * AlterQuorum's effect (cluster mode, on the metadata leader): resolves with the new membership; absent on
   * a single node.
   */
  readonly alterQuorum?: (
    brokerId: number,
    action: QuorumAction,
    deadline: Deadline,
  ) => Promise<QuorumMembership>;
  /**
   * AlterPartitionAssignments' effect (cluster mode): resolves once the change is in the metadata store;
   * absent on a single node. Its metadata proposal carries the request's deadline.
   */
  readonly alterPartitionAssignments?: (
    request: AlterPartitionAssignmentsRequest,
    deadline: Deadline,
  ) => Promise<void>;
  /**
   * InitProducerId's source of producer ids (broker/producer-ids.ts); absent: the api answers UNKNOWN_API.
   * `deadline` ends the caller's wait for a new block (the block fetch itself serves later callers).
   */
  readonly producerIds?: { allocate(deadline?: Deadline): Promise<number> };
  /** The consumer-group coordinator (groups/); absent: the group apis answer UNKNOWN_API. */
  readonly groups?: GroupCoordinator;
  /**
   * Per-client-id quota overrides (DescribeConfigs / AlterConfigs of a client resource): the limits they
   * resolve to and where they are kept. Absent: client resources answer INVALID_REQUEST.
   */
  readonly clientQuotas?: { readonly limits: ClientQuotaLimits; readonly store: ClientQuotaStore };
  /** Buffers fetch answers borrow for their reads (storage/read-buffers.ts); absent: fresh ones. */
  readonly readBuffers?: ReadBufferPool;
}

/** Who sent a request (its header's client id, the connection's remote address) and when it is due. */
export interface RequestSource {
  readonly clientId: string;
  readonly clientHost: string;
  /**
   * The request's one deadline (router.ts): work a handler starts waits on `deadline.signal`, and a hop to
   * another broker carries `deadline.remainingMs()` (or a `child()`), so the time left only shrinks. At the
   * deadline the waits are abandoned, never a write already in the log, and the client gets REQUEST_TIMED_OUT.
   */
  readonly deadline: Deadline;
  /** Fetch only: where its reads get their buffers (given back once the answer is written). */
  readonly readBuffers?: ReadBufferSource;
}
