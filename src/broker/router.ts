/**
 * Request router: one frame in, one response frame out (or none for acks=0). Decodes the header and the
 * body through the protocol registry, runs the handler, and turns every failure into an error response
 * carrying the correlation id, so nothing a client sends can crash the broker. Only a frame too short to
 * carry a header is thrown back (the connection closes: there is no correlation id to answer).
 */
import type { Attributes } from '@opentelemetry/api';
import { StreamBusError, toStreamBusError } from '../errors/index.js';
import { withRemoteParent, withSpan } from '../observability/tracing.js';
import type { RefusedFrame } from '../protocol/frame-decoder.js';
import type { TracedRequestHeader } from '../protocol/header.js';
import {
  API_NAMES,
  ApiKey,
  decodeRequestBody,
  decodeRequestHeader,
  decodeRequestIds,
  encodeErrorResponse,
  encodeResponseChunks,
  type RequestHeader,
  type RequestOf,
  type ResponseOf,
  supportedApis,
} from '../protocol/index.js';
import { Deadline } from '../resilience/deadline.js';
import type { ClientQuotas, HandlerTime, QuotaKind } from './client-quotas.js';
import { type Answer, CLOSE_CONNECTION, type ConnectionInfo, type FrameRouter } from './connection.js';
import {
  handleAlterBroker,
  handleAlterPartitionAssignments,
  handleAlterQuorum,
  handleDescribeCluster,
} from './handlers/cluster.js';
import { handleAlterConfigs, handleDescribeConfigs } from './handlers/configs.js';
import type { HandlerContext, RequestSource } from './handlers/context.js';
import { handleDeleteRecords } from './handlers/delete-records.js';
import { handleFetch } from './handlers/fetch.js';
import {
  handleDeleteGroups,
  handleDescribeGroups,
  handleFindCoordinator,
  handleHeartbeat,
  handleJoinGroup,
  handleLeaveGroup,
  handleListGroups,
  handleOffsetCommit,
  handleOffsetDelete,
  handleOffsetFetch,
  handleSyncGroup,
} from './handlers/groups.js';
import { handleListOffsets } from './handlers/list-offsets.js';
import { handleProduce } from './handlers/produce.js';
import { handleInitProducerId } from './handlers/producer-id.js';
import {
  handleCreatePartitions,
  handleCreateTopics,
  handleDeleteTopics,
  handleDescribeTopics,
  handleListTopics,
  handleMetadata,
} from './handlers/topics.js';

export interface RequestObserver {
  /** Called once per request with its api name, outcome and duration. */
  onRequest(api: string, status: 'ok' | 'error', durationSeconds: number): void;
  onError?(api: string, err: StreamBusError, connection: ConnectionInfo): void;
  /** Called when a request outlives its deadline (before the REQUEST_TIMED_OUT answer is sent). */
  onTimeout?(operation: string, timeoutMs: number): void;
  /** A client went over a quota of `kind`: its connection is not read for `throttleMs`. */
  onThrottle?(kind: QuotaKind, clientId: string, throttleMs: number): void;
}

type Handler<K extends ApiKey> = (
  ctx: HandlerContext,
  request: RequestOf<K>,
  source: RequestSource,
) => Promise<ResponseOf<K>> | ResponseOf<K>;
type HandlerTable = { [K in ApiKey]: Handler<K> };

export class RequestRouter implements FrameRouter {
  private readonly handlers: HandlerTable;
  private readonly operations = new Map<number, string>();
  private ctx: HandlerContext;
  private readonly quotas: ClientQuotas | null;

  constructor(
    ctx: HandlerContext,
    private readonly observer: RequestObserver,
    private readonly requestTimeoutMs: number,
    /** Spans for Produce and Fetch; when false nothing tracing-related runs per request. */
    private readonly tracing = false,
    /** Quotas per client id; null (or none set now): bytes and time are not even counted. */
    quotas: ClientQuotas | null = null,
  ) {
    this.quotas = quotas;
    this.ctx = ctx;
    this.handlers = {
      [ApiKey.Produce]: handleProduce,
      [ApiKey.Fetch]: handleFetch,
      [ApiKey.ListOffsets]: handleListOffsets,
      [ApiKey.Metadata]: handleMetadata,
      [ApiKey.ApiVersions]: (c) => ({ apis: supportedApis(), brokerVersion: c.brokerVersion }),
      [ApiKey.CreateTopics]: handleCreateTopics,
      [ApiKey.DeleteTopics]: handleDeleteTopics,
      [ApiKey.DescribeTopics]: handleDescribeTopics,
      [ApiKey.ListTopics]: (c) => handleListTopics(c),
      [ApiKey.DescribeCluster]: (c) => handleDescribeCluster(c),
      [ApiKey.AlterBroker]: handleAlterBroker,
      [ApiKey.InitProducerId]: handleInitProducerId,
      [ApiKey.FindCoordinator]: handleFindCoordinator,
      [ApiKey.JoinGroup]: handleJoinGroup,
      [ApiKey.SyncGroup]: handleSyncGroup,
      [ApiKey.Heartbeat]: handleHeartbeat,
      [ApiKey.LeaveGroup]: handleLeaveGroup,
      [ApiKey.OffsetCommit]: handleOffsetCommit,
      [ApiKey.OffsetFetch]: handleOffsetFetch,
      [ApiKey.ListGroups]: (c) => handleListGroups(c),
      [ApiKey.DescribeGroups]: handleDescribeGroups,
      [ApiKey.DeleteGroups]: handleDeleteGroups,
      [ApiKey.DescribeConfigs]: handleDescribeConfigs,
      [ApiKey.AlterConfigs]: handleAlterConfigs,
      [ApiKey.CreatePartitions]: handleCreatePartitions,
      [ApiKey.AlterQuorum]: handleAlterQuorum,
      [ApiKey.OffsetDelete]: handleOffsetDelete,
      [ApiKey.AlterPartitionAssignments]: handleAlterPartitionAssignments,
      [ApiKey.DeleteRecords]: handleDeleteRecords,
    };
  }

  /** The port becomes known only after binding when the config asked for port 0. */
  setAdvertisedPort(port: number): void {
    this.ctx = { ...this.ctx, self: { ...this.ctx.self, port } };
  }

  async route(frame: Buffer, connection: ConnectionInfo): Promise<Answer | null> {
    const { header, bodyOffset } = decodeRequestHeader(frame);
    const started = process.hrtime.bigint();
    const api = API_NAMES[header.apiKey as ApiKey] ?? `api_${header.apiKey}`;
    let deadline: Deadline | undefined;
    let timeoutMs = 0;
    let acksZero = false;
    // Its event-loop time, when a request-time quota holds the client: decoding, the handler up to its
    // first wait, encoding. Not the waits (disk, replication, a long-poll fetch): they keep nobody else out.
    const handlerTime = this.quotas?.enabled === true ? this.quotas.timeRequest(header.clientId) : null;
    try {
      const request = decodeRequestBody(header.apiKey, header.apiVersion, frame.subarray(bodyOffset));
      acksZero = header.apiKey === ApiKey.Produce && (request as RequestOf<typeof ApiKey.Produce>).acks === 0;
      timeoutMs = this.budgetMs(header.apiKey, request);
      deadline = Deadline.fromTimeout(timeoutMs, { operation: this.operationOf(header.apiKey, api) });
      // A fetch answer's reads borrow buffers, given back once the answer is on the socket (read-buffers.ts).
      const loan = header.apiKey === ApiKey.Fetch ? this.ctx.readBuffers?.loan() : undefined;
      const source: RequestSource = {
        clientId: header.clientId,
        clientHost: connection.remoteAddress,
        deadline,
        readBuffers: loan,
      };
      const work =
        this.tracing && (header.apiKey === ApiKey.Produce || header.apiKey === ApiKey.Fetch)
          ? withRemoteParent(header.traceparent, () => this.dispatchTraced(header, request, source))
          : this.dispatch(header, request, source);
      // The handler's own waits end on the same signal (told of it first, they let go of their listeners
      // and waiters); this answer does not depend on them, so one that ignores the signal (a hung disk)
      // cannot hold the client either. One promise per request, no second timer, no AbortController
      // unless a handler waits on the signal.
      handlerTime?.pause();
      const response = await deadline.race(work);
      handlerTime?.resume();
      this.observer.onRequest(api, 'ok', elapsedSeconds(started));
      const bytesThrottleMs = this.quotas?.enabled === true ? this.throttleMs(header, request, response) : 0;
      if (acksZero) {
        const unanswered = unansweredProduce(response as ResponseOf<typeof ApiKey.Produce>);
        const throttleMs = Math.max(bytesThrottleMs, this.timeThrottleMs(header.clientId, handlerTime));
        return unanswered === null && throttleMs > 0 ? { chunks: [], throttleMs } : unanswered;
      }
      const chunks = encodeResponseChunks(
        header.apiKey as ApiKey,
        header.apiVersion,
        header.correlationId,
        response as never,
      );
      const answer: Answer = loan === undefined ? { chunks } : { chunks, onWritten: () => loan.giveBack() };
      const throttleMs = Math.max(bytesThrottleMs, this.timeThrottleMs(header.clientId, handlerTime));
      if (throttleMs > 0) answer.throttleMs = throttleMs;
      return answer;
    } catch (err) {
      const e =
        deadline?.expired() === true && err === deadline.signal.reason
          ? this.timedOut(deadline, header.correlationId, timeoutMs)
          : toStreamBusError(err, `request.${api}`);
      this.observer.onRequest(api, 'error', elapsedSeconds(started));
      this.observer.onError?.(api, e, connection);
      // No answer is read for an acks=0 produce: an error frame would be taken for the next request's.
      if (acksZero) return CLOSE_CONNECTION;
      return { chunks: [encodeErrorResponse(header.correlationId, e)] };
    } finally {
      deadline?.dispose();
    }
  }

  /** Counts a request's event-loop time against the client id's request-time quota; 0 within it. */
  private timeThrottleMs(clientId: string, handlerTime: HandlerTime | null): number {
    if (handlerTime === null) return 0;
    const throttleMs = this.quotas!.record(clientId, 'request', handlerTime.stoppedMs());
    if (throttleMs > 0) this.observer.onThrottle?.('request', clientId, throttleMs);
    return throttleMs;
  }

  /**
   * Counts a Produce's record bytes (as sent, written or not: they were received) or a Fetch's (as
   * answered) against the client id's quota; answers how long its connection waits unread, 0 within quota.
   */
  private throttleMs(
    header: RequestHeader,
    request: RequestOf<ApiKey>,
    response: ResponseOf<ApiKey>,
  ): number {
    let kind: QuotaKind;
    let carrying: readonly { records?: Buffer | null }[];
    if (header.apiKey === ApiKey.Produce) {
      kind = 'produce';
      carrying = (request as RequestOf<typeof ApiKey.Produce>).partitions;
    } else if (header.apiKey === ApiKey.Fetch) {
      kind = 'fetch';
      carrying = (response as ResponseOf<typeof ApiKey.Fetch>).partitions;
    } else return 0;
    let bytes = 0;
    for (const p of carrying) bytes += p.records?.length ?? 0;
    if (bytes === 0) return 0;
    const throttleMs = this.quotas!.record(header.clientId, kind, bytes);
    if (throttleMs > 0) this.observer.onThrottle?.(kind, header.clientId, throttleMs);
    return throttleMs;
  }

  /**
   * A request whose frame is over limits.frame_bytes_max, refused unread: answered FRAME_TOO_LARGE naming
   * the limit, which also travels as `limitBytes`, so its client fails it (or sends it again in smaller
   * requests) instead of resending the same frame on every new connection until its delivery timeout. A
   * head too short to hold a correlation id gets no answer. (An acks=0 produce cannot be told from its head:
   * its client, which reads no answer to it, takes this one as out of step and closes, as it would anyway.)
   */
  refuse(refused: RefusedFrame): Answer {
    let correlationId: number;
    try {
      correlationId = decodeRequestIds(refused.head).correlationId;
    } catch {
      return CLOSE_CONNECTION;
    }
    const err = new StreamBusError('FRAME_TOO_LARGE', {
      operation: 'request.refuse',
      message: `request frame of ${refused.lengthBytes} bytes exceeds the broker's limits.frame_bytes_max of ${refused.frameBytesMax} bytes`,
      metadata: { lengthBytes: refused.lengthBytes, limitBytes: refused.frameBytesMax },
    });
    return { chunks: [encodeErrorResponse(correlationId, err)] };
  }

  /** The request outlived its deadline: counted, then answered REQUEST_TIMED_OUT instead of holding the pipeline. */
  private timedOut(deadline: Deadline, correlationId: number, timeoutMs: number): StreamBusError {
    const operation = deadline.operation ?? 'request';
    this.observer.onTimeout?.(operation, timeoutMs);
    return new StreamBusError('REQUEST_TIMED_OUT', { operation, metadata: { correlationId, timeoutMs } });
  }

  /**
   * The request's budget: the broker's request timeout plus what the api may legitimately wait, shortened
   * by the client's own budget when the request carries one (a producer's ack timeout, an admin's timeout):
   * work the client has given up on is not worth finishing.
   */
  private budgetMs(apiKey: number, request: RequestOf<ApiKey>): number {
    const brokerMs = this.requestTimeoutMs + this.waitAllowanceMs(apiKey, request);
    const clientMs = clientBudgetMs(apiKey, request);
    return clientMs === undefined ? brokerMs : Math.min(brokerMs, clientMs);
  }

  /** `request.<Api>`, built once per api rather than once per request. */
  private operationOf(apiKey: number, api: string): string {
    let operation = this.operations.get(apiKey);
    if (operation === undefined) {
      operation = `request.${api}`;
      this.operations.set(apiKey, operation);
    }
    return operation;
  }

  /**
   * Time a request may legitimately wait before its work even starts: a long poll up to fetch_wait_max_ms,
   * a JoinGroup (and the SyncGroup after it) for the rest of the group up to its rebalance timeout.
   */
  private waitAllowanceMs(apiKey: number, request: RequestOf<ApiKey>): number {
    if (apiKey === ApiKey.Fetch) return this.ctx.limits.fetchWaitMaxMs;
    if (apiKey === ApiKey.JoinGroup) {
      return (request as RequestOf<typeof ApiKey.JoinGroup>).rebalanceTimeoutMs;
    }
    if (apiKey === ApiKey.SyncGroup) return this.ctx.limits.groupSyncWaitMaxMs ?? 0;
    return 0;
  }

  private dispatch(
    header: RequestHeader,
    request: RequestOf<ApiKey>,
    source: RequestSource,
  ): Promise<ResponseOf<ApiKey>> {
    const handler = this.handlers[header.apiKey as ApiKey] as Handler<ApiKey>;
    return Promise.resolve(handler(this.ctx, request as never, source));
  }

  /** Produce and Fetch inside a `streambus.produce` / `streambus.fetch` span (only called with tracing on). */
  private dispatchTraced(
    header: TracedRequestHeader,
    request: RequestOf<ApiKey>,
    source: RequestSource,
  ): Promise<ResponseOf<ApiKey>> {
    const partitions = (request as { partitions: readonly { topic: string; records?: Buffer }[] }).partitions;
    const topics = new Set<string>();
    let bytes = 0;
    for (const p of partitions) {
      topics.add(p.topic);
      if (p.records !== undefined) bytes += p.records.length;
    }
    const produce = header.apiKey === ApiKey.Produce;
    const attributes: Attributes = {
      'streambus.broker_id': this.ctx.self.id,
      'streambus.client_id': header.clientId,
      'streambus.topic_count': topics.size,
      'streambus.partition_count': partitions.length,
    };
    if (topics.size === 1) attributes['streambus.topic'] = partitions[0]?.topic ?? '';
    if (produce) {
      attributes['streambus.bytes'] = bytes;
      attributes['streambus.acks'] = (request as RequestOf<typeof ApiKey.Produce>).acks;
    }
    return withSpan(produce ? 'streambus.produce' : 'streambus.fetch', attributes, async (span) => {
      const response = await this.dispatch(header, request, source);
      const results = (response as { partitions: readonly { error: unknown; records?: Buffer }[] })
        .partitions;
      let failed = 0;
      let returned = 0;
      for (const r of results) {
        if (r.error !== null) failed++;
        if (r.records !== undefined) returned += r.records.length;
      }
      span.setAttribute('streambus.partition_errors', failed);
      if (!produce) span.setAttribute('streambus.bytes', returned);
      return response;
    });
  }
}

/** Apis whose request carries the client's own `timeoutMs`. */
const CLIENT_BUDGETED: ReadonlySet<number> = new Set([
  ApiKey.Produce,
  ApiKey.CreateTopics,
  ApiKey.DeleteTopics,
  ApiKey.CreatePartitions,
  ApiKey.DeleteRecords,
]);

/**
 * The client's own budget for a request, when its body says it (a positive `timeoutMs`: Produce's ack
 * timeout, CreateTopics', DeleteTopics', CreatePartitions', DeleteRecords'); undefined for apis that carry none.
 */
function clientBudgetMs(apiKey: number, request: RequestOf<ApiKey>): number | undefined {
  if (!CLIENT_BUDGETED.has(apiKey)) return undefined;
  const timeoutMs = (request as { timeoutMs?: unknown }).timeoutMs;
  return typeof timeoutMs === 'number' && timeoutMs > 0 ? timeoutMs : undefined;
}

function elapsedSeconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * An acks=0 produce is not answered, unless a partition failed: then the connection closes instead, as
 * Kafka's broker does, the one way its client can learn of it (it drops the connection's cached state and
 * refreshes metadata, so its next writes go where the partition is led now). The failed writes are lost:
 * that is what acks=0 accepts.
 */
function unansweredProduce(response: ResponseOf<typeof ApiKey.Produce>): Answer | null {
  return response.partitions.some((p) => p.error !== null) ? CLOSE_CONNECTION : null;
}
