/**
 * A tiny in-memory broker for SDK tests, built on the real codec: it decodes request frames, answers in
 * order through overridable handlers, and keeps partitions as lists of stamped batches. Not the real broker
 * (src/broker); it exists so the SDK can be tested alone, with faults injected on demand.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { StreamBusError } from '../../src/errors/index.js';
import {
  ApiKey,
  decodeRequestBody,
  decodeRequestFrame,
  encodeErrorResponse,
  encodeResponse,
  FrameDecoder,
  type ProduceRequest,
  type ProduceResponse,
  type RequestHeader,
  type RequestOf,
  type ResponseOf,
  wireErrorOf,
} from '../../src/protocol/index.js';
import { decodeRecords, readBatchHeader, splitBatches, stampBatch } from '../../src/protocol/record-batch.js';

export const NO_REPLY = Symbol('no-reply');

export type Handler<K extends ApiKey> = (
  body: RequestOf<K>,
  header: RequestHeader,
) => ResponseOf<K> | typeof NO_REPLY | Promise<ResponseOf<K> | typeof NO_REPLY>;

interface StoredPartition {
  batches: Buffer[];
  nextOffset: number;
}

export class FakeBroker {
  readonly server: Server;
  port = 0;
  readonly host = '127.0.0.1';
  readonly requests: { header: RequestHeader; body: unknown }[] = [];
  readonly sockets = new Set<Socket>();
  readonly topics = new Map<string, StoredPartition[]>();
  /** Overrides per api key; fall back to the in-memory behaviour. */
  readonly handlers: Partial<{ [K in ApiKey]: Handler<K> }> = {};
  /** The id the next InitProducerId answers (then incremented). */
  nextProducerId = 1000;

  constructor() {
    this.server = createServer((socket) => this.serve(socket));
  }

  static async start(port = 0): Promise<FakeBroker> {
    const b = new FakeBroker();
    await b.listen(port);
    return b;
  }

  listen(port = 0): Promise<void> {
    return new Promise((resolve) => {
      this.server.listen(port, this.host, () => {
        const addr = this.server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
  }

  get bootstrap(): string {
    return `${this.host}:${this.port}`;
  }

  createTopic(name: string, partitions: number): void {
    this.topics.set(
      name,
      Array.from({ length: partitions }, () => ({ batches: [], nextOffset: 0 })),
    );
  }

  requestsOf(apiKey: ApiKey): { header: RequestHeader; body: unknown }[] {
    return this.requests.filter((r) => r.header.apiKey === apiKey);
  }

  /** Drops every client connection (the server keeps listening). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    // Answers strictly in request order, as the protocol requires, even when handlers are async.
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        const { header, body } = decodeRequestFrame(frame);
        const decoded = decodeRequestBody(header.apiKey, header.apiVersion, body);
        this.requests.push({ header, body: decoded });
        const reply = this.dispatch(header, decoded);
        chain = chain.then(async () => {
          let out: Buffer | null;
          try {
            const res = await reply;
            out =
              res === NO_REPLY
                ? null
                : encodeResponse(
                    header.apiKey as ApiKey,
                    header.apiVersion,
                    header.correlationId,
                    res as never,
                  );
          } catch (err) {
            out = encodeErrorResponse(
              header.correlationId,
              err instanceof StreamBusError
                ? err
                : new StreamBusError('UNKNOWN_SERVER_ERROR', { message: String(err) }),
            );
          }
          if (out && !socket.destroyed) socket.write(out);
        });
      }
    });
  }

  private async dispatch(header: RequestHeader, body: unknown): Promise<unknown> {
    const k = header.apiKey as ApiKey;
    const custom = this.handlers[k] as Handler<ApiKey> | undefined;
    if (custom) return custom(body as never, header);
    switch (k) {
      case ApiKey.Metadata:
        return this.metadata(body as RequestOf<typeof ApiKey.Metadata>);
      case ApiKey.Produce:
        return this.produce(body as RequestOf<typeof ApiKey.Produce>);
      case ApiKey.Fetch:
        return this.fetch(body as RequestOf<typeof ApiKey.Fetch>);
      case ApiKey.ListOffsets:
        return this.listOffsets(body as RequestOf<typeof ApiKey.ListOffsets>);
      case ApiKey.InitProducerId:
        return { error: null, producerId: this.nextProducerId++, producerEpoch: 0 };
      case ApiKey.ApiVersions:
        return { apis: [{ apiKey: 0, minVersion: 0, maxVersion: 0 }], brokerVersion: 'fake' };
      default:
        throw new StreamBusError('UNKNOWN_API');
    }
  }

  metadata(req: RequestOf<typeof ApiKey.Metadata>): ResponseOf<typeof ApiKey.Metadata> {
    const names = req.topics ?? [...this.topics.keys()];
    return {
      clusterId: 'fake',
      controllerId: 1,
      brokers: [{ id: 1, host: this.host, port: this.port, rack: null }],
      topics: names.map((name) => {
        const parts = this.topics.get(name);
        return {
          name,
          error: parts ? null : wireErrorOf('UNKNOWN_TOPIC_OR_PARTITION'),
          internal: false,
          partitions: (parts ?? []).map((_, partition) => ({
            partition,
            leaderId: 1,
            leaderEpoch: 0,
            replicas: [1],
            isr: [1],
            error: null,
          })),
        };
      }),
    };
  }

  produce(req: RequestOf<typeof ApiKey.Produce>): ResponseOf<typeof ApiKey.Produce> | typeof NO_REPLY {
    const partitions = req.partitions.map((p) => {
      const stored = this.topics.get(p.topic)?.[p.partition];
      if (!stored) {
        return {
          topic: p.topic,
          partition: p.partition,
          error: wireErrorOf('UNKNOWN_TOPIC_OR_PARTITION'),
          baseOffset: -1,
          logAppendTimeMs: -1,
          logStartOffset: -1,
          leaderHint: -1,
        };
      }
      const baseOffset = stored.nextOffset;
      for (const batch of splitBatches(p.records)) {
        const copy = Buffer.from(batch);
        stampBatch(copy, stored.nextOffset, 0);
        stored.batches.push(copy);
        stored.nextOffset += readBatchHeader(copy).recordCount;
      }
      return appended(p, baseOffset);
    });
    return req.acks === 0 ? NO_REPLY : { partitions };
  }

  async fetch(req: RequestOf<typeof ApiKey.Fetch>): Promise<ResponseOf<typeof ApiKey.Fetch>> {
    const answer = () =>
      req.partitions.map((p) => {
        const stored = this.topics.get(p.topic)?.[p.partition];
        if (!stored) {
          return {
            topic: p.topic,
            partition: p.partition,
            error: wireErrorOf('UNKNOWN_TOPIC_OR_PARTITION'),
            highWatermark: -1,
            logStartOffset: -1,
            leaderHint: -1,
            records: Buffer.alloc(0),
          };
        }
        if (p.fetchOffset > stored.nextOffset) {
          return {
            topic: p.topic,
            partition: p.partition,
            error: wireErrorOf('OFFSET_OUT_OF_RANGE'),
            highWatermark: stored.nextOffset,
            logStartOffset: 0,
            leaderHint: -1,
            records: Buffer.alloc(0),
          };
        }
        // As the broker does: whole batches from the one holding the offset, within partitionMaxBytes but
        // at least one.
        const batches: Buffer[] = [];
        let bytes = 0;
        for (const b of stored.batches) {
          const h = readBatchHeader(b);
          if (h.baseOffset + h.lastOffsetDelta < p.fetchOffset) continue;
          if (batches.length > 0 && bytes + b.length > p.partitionMaxBytes) break;
          batches.push(b);
          bytes += b.length;
        }
        return {
          topic: p.topic,
          partition: p.partition,
          error: null,
          highWatermark: stored.nextOffset,
          logStartOffset: 0,
          leaderHint: -1,
          records: Buffer.concat(batches),
        };
      });
    let partitions = answer();
    if (partitions.every((p) => p.records.length === 0) && req.maxWaitMs > 0) {
      await new Promise((r) => setTimeout(r, Math.min(req.maxWaitMs, 20)));
      partitions = answer();
    }
    return { partitions };
  }

  listOffsets(req: RequestOf<typeof ApiKey.ListOffsets>): ResponseOf<typeof ApiKey.ListOffsets> {
    return {
      partitions: req.partitions.map((p) => {
        const stored = this.topics.get(p.topic)?.[p.partition];
        if (!stored) {
          return {
            topic: p.topic,
            partition: p.partition,
            error: wireErrorOf('UNKNOWN_TOPIC_OR_PARTITION'),
            offset: -1,
            timestamp: -1,
          };
        }
        if (p.timestamp === -2)
          return { topic: p.topic, partition: p.partition, error: null, offset: 0, timestamp: -1 };
        if (p.timestamp === -1) {
          return {
            topic: p.topic,
            partition: p.partition,
            error: null,
            offset: stored.nextOffset,
            timestamp: -1,
          };
        }
        for (const b of stored.batches) {
          for (const r of decodeRecords(b)) {
            if (r.timestamp >= p.timestamp) {
              return {
                topic: p.topic,
                partition: p.partition,
                error: null,
                offset: r.offset,
                timestamp: r.timestamp,
              };
            }
          }
        }
        return { topic: p.topic, partition: p.partition, error: null, offset: -1, timestamp: -1 };
      }),
    };
  }

  /** Every record stored for a partition, decoded. */
  records(topic: string, partition: number) {
    return (this.topics.get(topic)?.[partition]?.batches ?? []).flatMap((b) => decodeRecords(b));
  }
}

/** Timers that only fire when the test says so. */
export class ManualTimers {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  setTimeout = (fn: () => void, ms: number): object => {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return { id };
  };
  clearTimeout = (handle: object): void => {
    this.pending.delete((handle as { id: number }).id);
  };
  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const t of due) t.fn();
  }
  /** Fires only the timers set for exactly `ms` (say, a hedge, and not the request timeouts beside it). */
  fireSetFor(ms: number): number {
    const due = [...this.pending].filter(([, t]) => t.ms === ms);
    for (const [id] of due) this.pending.delete(id);
    for (const [, t] of due) t.fn();
    return due.length;
  }
}

export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A Produce answer failing every partition of `body` with `code` (and `leaderHint`, -1 by default). */
export function failAll(
  body: ProduceRequest,
  code: Parameters<typeof wireErrorOf>[0],
  leaderHint = -1,
): ProduceResponse {
  return {
    partitions: body.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      error: wireErrorOf(code),
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      leaderHint,
    })),
  };
}

/**
 * Makes `brokers` one cluster's: each answers Metadata naming all of them (ids 1, 2, ... in order) and
 * `leaderId(partition)` as each partition's leader (at `leaderEpoch(partition)` when given), as the brokers
 * of a real cluster share one metadata view.
 */
export function shareClusterMetadata(
  brokers: readonly FakeBroker[],
  leaderId: (partition: number) => number,
  leaderEpoch?: (partition: number) => number,
): void {
  const ids = brokers.map((_, i) => i + 1);
  for (const b of brokers) {
    b.handlers[ApiKey.Metadata] = (body) => {
      const md = b.metadata(body);
      return {
        ...md,
        brokers: brokers.map((x, i) => ({ id: i + 1, host: x.host, port: x.port, rack: null })),
        topics: md.topics.map((t) => ({
          ...t,
          partitions: t.partitions.map((p) => ({
            ...p,
            leaderId: leaderId(p.partition),
            ...(leaderEpoch === undefined ? {} : { leaderEpoch: leaderEpoch(p.partition) }),
            replicas: ids,
            isr: ids,
          })),
        })),
      };
    };
  }
}

/** A produce answer's entry for a partition appended at `baseOffset` (log start 0, no append time). */
export function appended(
  p: { readonly topic: string; readonly partition: number },
  baseOffset: number,
): ProduceResponse['partitions'][number] {
  return {
    topic: p.topic,
    partition: p.partition,
    error: null,
    baseOffset,
    logAppendTimeMs: -1,
    leaderHint: -1,
    logStartOffset: 0,
  };
}

/** Holds every Metadata request on `b` until the returned function is called. */
export function holdMetadata(b: FakeBroker): () => void {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  b.handlers[ApiKey.Metadata] = async (body) => {
    await held;
    return b.metadata(body);
  };
  return release;
}
