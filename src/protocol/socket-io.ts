/**
 * Socket reads and writes of frames.
 *
 * Outgoing connections read into one shared buffer instead of a fresh one per read, or straight into the
 * frame being assembled.
 *
 * A plain socket allocates a 64 KiB Buffer for every read; a consumer taking 300 MiB/s made thousands of them
 * a second, and the garbage collector's work on them (external memory pressure forcing full collections) was
 * the largest cost after the copies themselves. With Node's `onread` option the kernel writes into
 * SHARED_READ_BUFFER and `onBytes` gets a view of it that is valid only during the call: FrameDecoder copies
 * what it keeps, so one buffer serves every connection of the process (reads are handled one at a time on
 * the event loop). When the reader names a `readTarget` (FrameDecoder.inPlaceTarget: the rest of a large
 * frame), the next read goes there instead and the listener gets a view of it, which the decoder only counts:
 * the bytes of a fetch answer are then copied once, by the kernel. Sockets accepted by a server cannot take
 * `onread` and keep their per-read buffers.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import type { Writable } from 'node:stream';

const READ_BUFFER_BYTES = 64 * 1024;
const SHARED_READ_BUFFER = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/** Reads of a socket from connectReading(): a view of the shared buffer, to be copied before returning. */
export type BytesListener = (bytes: Buffer) => void;

/** Where the reader wants the next bytes read, or null for the shared buffer (see the module comment). */
export type ReadTarget = () => Buffer | null;

export interface ReadingSocket {
  socket: Socket;
  /** Sets the listener for bytes read. Set it before the 'connect' handlers return: bytes that arrive with
   *  no listener close the socket. */
  onBytes(listener: BytesListener, readTarget?: ReadTarget): void;
}

export function connectReading(options: NetConnectOpts): ReadingSocket {
  let listener: BytesListener | null = null;
  let target: ReadTarget | null = null;
  const socket: Socket = connect({
    ...options,
    onread: {
      // Called before each read (and once when the handle is created): the buffer the kernel reads into.
      buffer: (): Uint8Array => target?.() ?? SHARED_READ_BUFFER,
      callback: (bytes: number, buf: Uint8Array): boolean => {
        if (listener === null) {
          socket.destroy(new Error('bytes arrived before a reader was attached'));
          return false;
        }
        listener((buf as Buffer).subarray(0, bytes));
        return true;
      },
    },
  });
  return {
    socket,
    onBytes: (l, readTarget) => {
      listener = l;
      target = readTarget ?? null;
    },
  };
}

/**
 * Writes a frame given as chunks (see encodeResponseChunks) with one writev; `done` runs once all of it is
 * written. Returns false when the socket's buffer is full (wait for 'drain').
 */
export function writeChunks(
  socket: Writable,
  chunks: readonly Buffer[],
  done?: (err?: Error | null) => void,
): boolean {
  if (chunks.length === 1) return socket.write(chunks[0]!, done);
  socket.cork();
  let ok = true;
  for (let i = 0; i < chunks.length; i++)
    ok = socket.write(chunks[i]!, i === chunks.length - 1 ? done : undefined);
  socket.uncork();
  return ok;
}
