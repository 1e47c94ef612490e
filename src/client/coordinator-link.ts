/**
 * A group member's line to its group's coordinator: found with FindCoordinator, over a connection of the
 * member's own (Cluster.dedicatedConnection: a JoinGroup may wait a whole rebalance, and answers on one
 * connection come back in order), dropped when the coordinator moves or the connection is lost, and found
 * anew by the next request.
 */
import { type StreamBusError, toStreamBusError } from '../errors/index.js';
import { ApiKey, fromWireError, type RequestOf, type ResponseOf } from '../protocol/index.js';
import { type BackoffPolicy, backoffMs, delay } from './backoff.js';
import type { Cluster } from './cluster.js';
import type { Connection } from './connection.js';
import type { Random, Timers } from './timers.js';

/** Tries of a commit or offset fetch while the coordinator moves (with backoff up to retryBackoff's max). */
const COORDINATOR_RETRIES = 20;

export class CoordinatorLink {
  private connection: Promise<Connection> | null = null;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly groupId: string,
    private readonly retryBackoff: BackoffPolicy,
    private readonly timers: Timers,
    private readonly random: Random,
  ) {}

  /** Sends a request to the coordinator (finding it first); a lost connection is dropped for the next. */
  async request<K extends ApiKey>(apiKey: K, body: RequestOf<K>, timeoutMs?: number): Promise<ResponseOf<K>> {
    const connection = await this.coordinator();
    try {
      return await connection.request(apiKey, body, timeoutMs === undefined ? {} : { timeoutMs });
    } catch (err) {
      const e = toStreamBusError(err, 'group.request');
      if (isConnectionLoss(e)) this.drop();
      throw e;
    }
  }

  /**
   * Runs `fn` (a request to the coordinator that throws its answer's error) again while the coordinator
   * moves: NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE and lost connections find the coordinator anew and
   * back off, for up to `retries` more tries. Commits use it, so a broker failover is a pause; with no
   * retries, the next call still asks the new coordinator.
   */
  async withRetry<T>(fn: () => Promise<T>, retries = COORDINATOR_RETRIES): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const e = toStreamBusError(err, 'group.request');
        if (!coordinatorMoved(e)) throw e;
        this.drop();
        if (attempt >= retries || this.closed) throw e;
        await delay(backoffMs(attempt, this.retryBackoff, this.random), this.timers);
      }
    }
  }

  /** Forgets the coordinator (it moved or its connection failed): the next request finds it again. */
  drop(): void {
    const connection = this.connection;
    this.connection = null;
    if (connection !== null) void connection.then((c) => c.close()).catch(() => undefined);
  }

  /** Closes the connection; requests after this still work (a member's last LeaveGroup goes before it). */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = null;
    if (connection !== null) await connection.then((c) => c.close()).catch(() => undefined);
  }

  private coordinator(): Promise<Connection> {
    if (this.connection !== null) return this.connection;
    const attempt = (async () => {
      const found = await this.cluster.requestAny(ApiKey.FindCoordinator, { groupId: this.groupId });
      if (found.error !== null) throw fromWireError(found.error, 'group.find-coordinator');
      return this.cluster.dedicatedConnection(`${found.host}:${found.port}`);
    })();
    this.connection = attempt;
    attempt.then(
      (c) =>
        c.onClose(() => {
          if (this.connection === attempt) this.connection = null;
        }),
      () => {
        if (this.connection === attempt) this.connection = null;
      },
    );
    return attempt;
  }
}

/** The coordinator moved or cannot be reached: finding it again (after a backoff) may help. */
export function coordinatorMoved(e: StreamBusError): boolean {
  return e.code === 'NOT_COORDINATOR' || e.code === 'COORDINATOR_NOT_AVAILABLE' || isConnectionLoss(e);
}

function isConnectionLoss(e: StreamBusError): boolean {
  return e.code === 'NETWORK_ERROR' || e.code === 'CONNECTION_CLOSED' || e.code === 'REQUEST_TIMED_OUT';
}
