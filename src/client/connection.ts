/**
 * One TCP connection to one broker. Owns the socket, pipelining and correlation, per-request timeouts and
 * aborts, the in-flight limit and write backpressure; the codec (src/protocol) owns the bytes.
 *
 * Requests are written in call order, at most `maxInFlightRequests` awaiting responses at once; more wait
 * in a bounded queue. The broker answers in order, so the oldest in-flight request owns the next response
 * (its correlation id is checked). A request that times out or is aborted is settled at once but keeps its
 * slot until its late response arrives, so the order stays intact. acks=0 Produce requests get no response:
 * they resolve once written.
 */
import type { Socket } from 'node:net';
import { ERRORS, StreamBusError, toStreamBusError } from '../errors/index.js';
import { currentTraceparent } from '../observability/tracing.js';
import type { TracedRequestHeader } from '../protocol/header.js';
import {
  ApiKey,
  DEFAULT_FRAME_BYTES_MAX,
  decodeResponseBody,
  decodeResponseFrame,
  encodeRequestChunks,
  FrameDecoder,
  type ProduceRequest,
  type RequestOf,
  type ResponseOf,
} from '../protocol/index.js';
import { connectReading, type ReadingSocket, writeChunks } from '../protocol/socket-io.js';
import { abortError } from '../resilience/clock.js';
import { type ClientTlsOptions, connectTls, isCertificateFailure } from './connection-tls.js';
import { clientTimers, type TimerHandle, type Timers } from './timers.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  /** Per request, from the call until its response (queue time included). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Requests written and awaiting a response. */
  maxInFlightRequests?: number;
  /** Requests waiting behind the in-flight limit or backpressure; beyond it `request` fails fast. */
  pendingRequestsMax?: number;
  /** Largest response frame accepted. */
  frameBytesMax?: number;
  /** TLS to a broker whose client listener serves it (connection-tls.ts). */
  tls?: ClientTlsOptions;
  timers?: Timers;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides the connection's requestTimeoutMs (e.g. a long-poll fetch adds its maxWaitMs). */
  timeoutMs?: number;
  apiVersion?: number;
}

export const CONNECTION_DEFAULTS = {
  clientId: 'streambus-client',
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxInFlightRequests: 64,
  pendingRequestsMax: 4096,
} as const;

interface Pending {
  apiKey: ApiKey;
  apiVersion: number;
  correlationId: number;
  /** The request frame as chunks to write in order (see encodeRequestChunks). */
  frame: Buffer[];
  expectResponse: boolean;
  settled: boolean;
  resolve(value: unknown): void;
  reject(err: StreamBusError): void;
  timer: TimerHandle | null;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

export class Connection {
  readonly host: string;
  readonly port: number;
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly pendingMax: number;
  private readonly timers: Timers;
  private readonly decoder: FrameDecoder;
  private readonly queue: Pending[] = [];
  private readonly inFlight: Pending[] = [];
  private nextCorrelationId = 0;
  private writeBlocked = false;
  private closedError: StreamBusError | null = null;
  private lastSocketError: unknown = null;
  private readonly closeListeners: ((err: StreamBusError) => void)[] = [];
  private readonly closedPromise: Promise<void>;

  /** Opens a socket and resolves once connected; NETWORK_ERROR when it cannot. */
  static connect(options: ConnectionOptions): Promise<Connection> {
    const timers = options.timers ?? clientTimers;
    const timeoutMs = options.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs;
    return new Promise<Connection>((resolve, reject) => {
      // A TLS socket reads through its 'data' events (the constructor's default), a plain one into the
      // shared buffer (socket-io.ts).
      const { socket, onBytes } =
        options.tls === undefined
          ? connectReading({ host: options.host, port: options.port })
          : { socket: connectTls(options.host, options.port, options.tls), onBytes: undefined };
      const fail = (err: unknown): void => {
        timers.clearTimeout(timer);
        socket.destroy();
        const cause = toStreamBusError(err, 'connection.connect');
        const refused = options.tls !== undefined && isCertificateFailure(err);
        reject(
          new StreamBusError(refused ? 'TLS_HANDSHAKE_FAILED' : 'NETWORK_ERROR', {
            operation: 'connection.connect',
            message: `cannot connect to ${options.host}:${options.port}: ${cause.message}`,
            cause: err,
            metadata: { host: options.host, port: options.port },
          }),
        );
      };
      const timer = timers.setTimeout(
        () => fail(new Error(`connect timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('error', fail);
      socket.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
        timers.clearTimeout(timer);
        socket.removeListener('error', fail);
        resolve(new Connection(socket, options, onBytes));
      });
    });
  }

  /**
   * Wraps a connected socket (tests may pass their own). `onBytes` subscribes to a socket from
   * connectReading(); without it the socket's 'data' events are read.
   */
  constructor(
    private readonly socket: Socket,
    options: ConnectionOptions,
    onBytes?: ReadingSocket['onBytes'],
  ) {
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId ?? CONNECTION_DEFAULTS.clientId;
    this.requestTimeoutMs = options.requestTimeoutMs ?? CONNECTION_DEFAULTS.requestTimeoutMs;
    this.maxInFlight = options.maxInFlightRequests ?? CONNECTION_DEFAULTS.maxInFlightRequests;
    this.pendingMax = options.pendingRequestsMax ?? CONNECTION_DEFAULTS.pendingRequestsMax;
    this.timers = options.timers ?? clientTimers;
    // Answers are as large as this client asked for: each gets its whole buffer at once (never copied to grow).
    const frameBytesMax = options.frameBytesMax ?? DEFAULT_FRAME_BYTES_MAX;
    this.decoder = new FrameDecoder({ frameBytesMax, eagerFrameBytes: frameBytesMax });
    socket.setNoDelay(true);
    if (onBytes)
      onBytes(
        (bytes) => this.onData(bytes),
        () => this.decoder.inPlaceTarget(),
      );
    else socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.lastSocketError = err;
    });
    this.closedPromise = new Promise<void>((resolve) => {
      socket.once('close', () => {
        this.failAll(this.closedError ?? this.closedByPeer());
        resolve();
      });
    });
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Requests written and awaiting a response (late responses to timed-out requests included). */
  get inFlightCount(): number {
    return this.inFlight.length;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** Called once when the connection closes, for whatever reason. */
  onClose(listener: (err: StreamBusError) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  request<K extends ApiKey>(
    apiKey: K,
    body: RequestOf<K>,
    options: RequestOptions = {},
  ): Promise<ResponseOf<K>> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (options.signal?.aborted === true)
      return Promise.reject(abortError(options.signal, 'connection.request'));
    if (this.queue.length >= this.pendingMax) {
      return Promise.reject(
        new StreamBusError('TOO_MANY_REQUESTS_IN_FLIGHT', {
          operation: 'connection.request',
          message: `${this.queue.length} requests already queued on ${this.address} (pendingRequestsMax)`,
        }),
      );
    }
    const apiVersion = options.apiVersion ?? 0;
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId === 0x7fffffff ? 0 : correlationId + 1;
    let frame: Buffer[];
    try {
      // With a sampled span active (the application traces), the broker's spans join its trace.
      const traceparent = currentTraceparent();
      const header: TracedRequestHeader & { apiKey: K } = {
        apiKey,
        apiVersion,
        correlationId,
        clientId: this.clientId,
      };
      if (traceparent !== undefined) header.traceparent = traceparent;
      frame = encodeRequestChunks(header, body);
    } catch (err) {
      return Promise.reject(toStreamBusError(err, 'connection.request'));
    }
    const expectResponse = !(apiKey === ApiKey.Produce && (body as ProduceRequest).acks === 0);
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      const pending: Pending = {
        apiKey,
        apiVersion,
        correlationId,
        frame,
        expectResponse,
        settled: false,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: null,
        signal: options.signal,
        onAbort: null,
      };
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      pending.timer = this.timers.setTimeout(() => {
        pending.timer = null;
        this.settle(
          pending,
          new StreamBusError('REQUEST_TIMED_OUT', {
            operation: 'connection.request',
            message: `request ${correlationId} to ${this.address} timed out after ${timeoutMs} ms`,
            metadata: { apiKey, correlationId, timeoutMs },
          }),
        );
      }, timeoutMs);
      if (options.signal) {
        const signal = options.signal;
        pending.onAbort = () => this.settle(pending, abortError(signal, 'connection.request'));
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      this.pump();
    });
  }

  /** Closes the socket; every request not yet answered fails with CONNECTION_CLOSED. */
  close(): Promise<void> {
    if (!this.closedError) {
      this.closedError = new StreamBusError('CONNECTION_CLOSED', {
        operation: 'connection.close',
        message: `connection to ${this.address} was closed by the client`,
      });
      this.socket.destroy();
    }
    return this.closedPromise;
  }

  private closedByPeer(): StreamBusError {
    // Under TLS 1.3 the client's side of the handshake ends before the broker has checked the client's
    // certificate: its refusal arrives as an alert on the open connection (connection-tls.ts).
    const refused = isCertificateFailure(this.lastSocketError);
    return new StreamBusError(refused ? 'TLS_HANDSHAKE_FAILED' : 'CONNECTION_CLOSED', {
      operation: 'connection.read',
      message: `connection to ${this.address} closed${this.lastSocketError ? `: ${String(this.lastSocketError)}` : ''}`,
      cause: this.lastSocketError ?? undefined,
    });
  }

  /** Writes queued requests while the in-flight limit and the socket allow. */
  private pump(): void {
    while (
      !this.writeBlocked &&
      !this.closedError &&
      this.queue.length > 0 &&
      this.inFlight.length < this.maxInFlight
    ) {
      const next = this.queue.shift()!;
      if (next.settled) continue;
      let ok: boolean;
      if (next.expectResponse) {
        this.inFlight.push(next);
        ok = writeChunks(this.socket, next.frame);
      } else {
        ok = writeChunks(this.socket, next.frame, (err) => {
          if (err) this.settle(next, toStreamBusError(err, 'connection.write'));
          else this.settle(next, null, { partitions: [] });
        });
      }
      if (!ok) {
        // Respect backpressure: nothing more is written until the kernel buffer drains.
        this.writeBlocked = true;
        this.socket.once('drain', () => {
          this.writeBlocked = false;
          this.pump();
        });
      }
    }
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.destroy(toStreamBusError(err, 'connection.read'));
      return;
    }
    for (const frame of frames) {
      // Peek, not shift: on a protocol violation the head must still be failed by destroy().
      const head = this.inFlight[0];
      let response: ReturnType<typeof decodeResponseFrame>;
      try {
        response = decodeResponseFrame(frame);
      } catch (err) {
        this.destroy(toStreamBusError(err, 'connection.read'));
        return;
      }
      if (head === undefined || response.correlationId !== head.correlationId) {
        if (response.errorCode === ERRORS.FRAME_TOO_LARGE.wireCode) {
          // An acks=0 Produce expects no answer, but a frame over the broker's limit is refused before the
          // broker reads its acks: it answers anyway, then closes. Say so, not "does not match".
          this.destroy(
            new StreamBusError('FRAME_TOO_LARGE', {
              operation: 'connection.read',
              message: `the broker refused request ${response.correlationId} (sent expecting no answer: acks=0) as over its frame limit`,
            }),
          );
          return;
        }
        this.destroy(
          new StreamBusError('MALFORMED_FRAME', {
            operation: 'connection.read',
            message: `response correlation id ${response.correlationId} does not match the oldest request ${head?.correlationId ?? 'none'}`,
          }),
        );
        return;
      }
      this.inFlight.shift();
      if (!head.settled) {
        try {
          const body = decodeResponseBody(head.apiKey, head.apiVersion, response.errorCode, response.body);
          this.settle(head, null, body);
        } catch (err) {
          this.settle(head, toStreamBusError(err, 'connection.read'));
        }
      }
      if (response.errorCode === ERRORS.FRAME_TOO_LARGE.wireCode) {
        // The broker refused the frame unread and closes the connection after this answer: close it now, so
        // nothing more goes out on it (nor the rest of a large frame) and the next request opens a new one.
        this.destroy(
          new StreamBusError('FRAME_TOO_LARGE', {
            operation: 'connection.read',
            message: `the broker refused request ${head.correlationId} as over its frame limit`,
          }),
        );
        return;
      }
    }
    this.pump();
  }

  private settle(p: Pending, err: StreamBusError | null, value?: unknown): void {
    if (p.settled) return;
    p.settled = true;
    if (p.timer !== null) this.timers.clearTimeout(p.timer);
    p.timer = null;
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    if (err) p.reject(err);
    else p.resolve(value);
  }

  private destroy(reason: StreamBusError): void {
    if (this.closedError) return;
    this.closedError = new StreamBusError('CONNECTION_CLOSED', {
      operation: reason.operation ?? 'connection',
      message: `connection to ${this.address} closed: ${reason.message}`,
      cause: reason,
    });
    this.socket.destroy();
  }

  private failAll(err: StreamBusError): void {
    if (!this.closedError) this.closedError = err;
    for (const p of this.inFlight.splice(0)) this.settle(p, err);
    for (const p of this.queue.splice(0)) this.settle(p, err);
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }
}
