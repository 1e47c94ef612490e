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
 * the bytes of a fetch answer are then copied once, by the kernel.
 *
 * Accepted sockets read the same way (acceptReading): Node's net.Server has no `onread` option, so a server
 * made with `pauseOnConnect` hands over sockets that have not read anything yet, and each one's handle is
 * moved into a socket that has the option (Node itself builds accepted sockets from a handle). Without it
 * every read of a broker's client and peer connections allocated a 64 KiB buffer: in a 3-broker produce
 * benchmark, most of the external memory whose growth forces V8's full collections.
 */
import { connect, type NetConnectOpts, Socket } from 'node:net';
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

/** The `onread` option of one socket and the setter of its listener. */
function readingOptions(socketOf: () => Socket) {
  let listener: BytesListener | null = null;
  let target: ReadTarget | null = null;
  const onread = {
    // Called before each read (and once when the handle is created): the buffer the kernel reads into.
    buffer: (): Uint8Array => target?.() ?? SHARED_READ_BUFFER,
    callback: (bytes: number, buf: Uint8Array): boolean => {
      if (listener === null) {
        socketOf().destroy(new Error('bytes arrived before a reader was attached'));
        return false;
      }
      listener((buf as Buffer).subarray(0, bytes));
      return true;
    },
  };
  const onBytes: ReadingSocket['onBytes'] = (l, readTarget) => {
    listener = l;
    target = readTarget ?? null;
  };
  return { onread, onBytes };
}

export function connectReading(options: NetConnectOpts): ReadingSocket {
  const { onread, onBytes } = readingOptions(() => socket);
  const socket: Socket = connect({ ...options, onread });
  return { socket, onBytes };
}

/** Node's internal handle of a socket (see the module comment); absent if Node ever changes. */
interface WithHandle {
  _handle?: object | null;
}

/**
 * Takes a socket accepted by a server created with `pauseOnConnect: true` and returns one that reads like
 * connectReading()'s (the original is spent: use only the returned socket). Where Node's internals do not
 * allow the move, the accepted socket itself is returned, resumed, with 'data' events behind onBytes.
 */
export function acceptReading(accepted: Socket): ReadingSocket {
  const handle = (accepted as unknown as WithHandle)._handle;
  if (handle !== null && handle !== undefined && !accepted.destroyed) {
    const { onread, onBytes } = readingOptions(() => socket);
    // Detach first, so destroying the original (which also counts it out of the server's connections)
    // does not close the handle now owned by the new socket.
    (accepted as unknown as WithHandle)._handle = null;
    const socket = new Socket({
      handle,
      readable: true,
      writable: true,
      onread,
    } as unknown as ConstructorParameters<typeof Socket>[0]);
    accepted.destroy();
    socket.resume();
    return { socket, onBytes };
  }
  return eventReading(accepted);
}

/**
 * A socket read through its 'data' events (one fresh buffer per read). For the sockets whose reads cannot go
 * into the shared buffer: TLS sockets (the bytes read are ciphertext; Node decrypts into buffers of its own).
 */
export function eventReading(socket: Socket): ReadingSocket {
  const onBytes: ReadingSocket['onBytes'] = (l) => {
    socket.removeAllListeners('data');
    socket.on('data', l);
  };
  socket.resume();
  return { socket, onBytes };
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
