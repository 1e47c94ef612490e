/**
 * A bare TCP client for bad-input tests: writes arbitrary bytes and collects whatever frames come back,
 * without the SDK's validation getting in the way.
 */
import { connect, type Socket } from 'node:net';
import { expect } from 'vitest';
import {
  ApiKey,
  decodeResponseFrame,
  encodeRequest,
  encodeRequestFrame,
  FrameDecoder,
  packBody,
  type RequestHeader,
} from '../../src/protocol/index.js';
import { connectTo } from './wire.js';

export interface RawResponse {
  correlationId: number;
  errorCode: number;
  body: Buffer;
}

export class RawSocket {
  private readonly decoder = new FrameDecoder();
  private readonly frames: RawResponse[] = [];
  private waiters: (() => void)[] = [];
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) this.frames.push(decodeResponseFrame(f));
      this.wake();
    });
    socket.on('error', () => {
      // A reset from the broker is an expected outcome here; 'close' follows.
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        this.wake();
        resolve();
      }),
    );
  }

  static open(host: string, port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawSocket(socket));
      });
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  write(bytes: Buffer): void {
    if (!this.closedFlag) this.socket.write(bytes);
  }

  /** Resolves with the next response frame, or null once the connection is closed with nothing buffered. */
  async next(timeoutMs = 5_000): Promise<RawResponse | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f !== undefined) return f;
      if (this.closedFlag) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response and no close within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the broker to close the connection; throws if it stays open past the timeout. */
  async waitClosed(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A request frame with any header and any body value (packed with the protocol's msgpack settings). */
export function rawRequest(header: Partial<RequestHeader> & { apiKey: number }, body: unknown): Buffer {
  return encodeRequestFrame(
    { apiVersion: 0, correlationId: 1, clientId: 'raw', ...header },
    body instanceof Buffer ? body : packBody(body),
  );
}

/** A frame from a length prefix and raw bytes (the prefix need not match). */
export function rawFrame(declaredLength: number, payload: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(declaredLength >>> 0, 0);
  return Buffer.concat([prefix, payload]);
}

/** The first 8 bytes of a request frame: api key, version 0 and correlation id (all a refusal reads). */
export function rawRequestIds(apiKey: number, correlationId: number): Buffer {
  const ids = Buffer.alloc(8);
  ids.writeUInt16BE(apiKey, 0);
  ids.writeInt32BE(correlationId, 4);
  return ids;
}

/** The broker still answers a fresh client: a Metadata request on a new connection succeeds. */
export async function expectServing(target: { host: string; port: number }): Promise<void> {
  const conn = await connectTo(target);
  try {
    const md = await conn.request(ApiKey.Metadata, { topics: null }, { timeoutMs: 5_000 });
    expect(md.brokers).toHaveLength(1);
  } finally {
    await conn.close();
  }
}

/** A well-formed Metadata request frame with `correlationId`. */
export function metadataFrame(correlationId: number): Buffer {
  return encodeRequest(
    { apiKey: ApiKey.Metadata, apiVersion: 0, correlationId, clientId: 'raw' },
    { topics: null },
  );
}

/** The frame limit of a bad-input test broker: small, so frames over it are cheap to send. */
export const BAD_INPUT_FRAME_BYTES_MAX = 64 * 1024;

/** A broker's settings for bad-input tests: small frame and batch limits, short long polls. */
export const BAD_INPUT_LIMITS = {
  'limits.frame_bytes_max': BAD_INPUT_FRAME_BYTES_MAX,
  'limits.batch_bytes_max': 32 * 1024,
  'limits.fetch_wait_max_ms': 100,
};
