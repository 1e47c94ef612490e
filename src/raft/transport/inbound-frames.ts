/**
 * What arrives on a peer connection, from bytes to Raft messages: frames cut within the peer link's limits,
 * only MESSAGES frames after the hello, and only envelopes the peer may send (its own, to this node). Bad
 * input closes the connection. Kept apart from tcp-transport.ts, which decides whose connection a socket is
 * and keeps it up; this only reads it.
 */
import type { Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import type { BytesListener } from '../../protocol/socket-io.js';
import { decodeEnvelopes } from '../codec.js';
import type { NodeId } from '../core/types.js';
import { FRAME_MESSAGES, type Frame, parseFrame } from './frame.js';
import type { Peer } from './peer.js';
import type { ResolvedTcpTransportOptions } from './tcp-transport-options.js';
import type { Envelope } from './types.js';

export type MessageHandler = (from: NodeId, envelopes: readonly Envelope[]) => void;

/**
 * Peer frames up to this size get their whole buffer when their length arrives (the client port keeps 2 MiB):
 * replication frames of 2-4 MiB were otherwise allocated twice and copied as they grew.
 */
const PEER_EAGER_FRAME_BYTES = 16 * 1024 * 1024;

export class InboundFrames {
  /** The one receiver (RaftTransport.onMessage). */
  handler: MessageHandler | undefined;

  constructor(
    private readonly opts: Pick<ResolvedTcpTransportOptions, 'nodeId' | 'maxFrameBytes' | 'nowMs' | 'logger'>,
  ) {}

  newDecoder(): FrameDecoder {
    return new FrameDecoder({
      frameBytesMax: this.opts.maxFrameBytes,
      eagerFrameBytes: PEER_EAGER_FRAME_BYTES,
    });
  }

  /** The listener for the bytes `socket` reads once it is the peer's connection. */
  reader(peer: Peer, socket: Socket, decoder: FrameDecoder): BytesListener {
    return (chunk: Buffer) => {
      peer.lastReceivedAtMs = this.opts.nowMs();
      peer.lastDataAtMs = peer.lastReceivedAtMs;
      const frames = this.decode(socket, decoder, chunk);
      if (frames !== undefined) this.deliver(peer, socket, frames);
    };
  }

  /** The frames `chunk` completes; undefined when its bytes are bad (the socket is closed then). */
  decode(socket: Socket, decoder: FrameDecoder, chunk: Buffer): Frame[] | undefined {
    try {
      return decoder.push(chunk).map(parseFrame);
    } catch (err) {
      this.reject(socket, err);
      return undefined;
    }
  }

  /**
   * Decodes and hands frames to the receiver. Bad bytes close the socket; an exception from the receiver
   * itself (a broken invariant in Raft) is not the peer's fault and propagates.
   */
  deliver(peer: Peer, socket: Socket, frames: Frame[]): void {
    for (const f of frames) {
      let envs: Envelope[];
      try {
        if (f.kind !== FRAME_MESSAGES) throw new Error(`unexpected frame kind ${f.kind}`);
        envs = decodeEnvelopes(f.payload);
      } catch (err) {
        this.reject(socket, err);
        return;
      }
      // A peer may only speak for itself.
      const own = envs.filter((e) => e.message.from === peer.id && e.message.to === this.opts.nodeId);
      if (own.length > 0 && peer.socket === socket) this.handler?.(peer.id, own);
    }
  }

  reject(socket: Socket, err: unknown): void {
    this.opts.logger.warn(
      { node_id: this.opts.nodeId, error: err instanceof Error ? err.message : String(err) },
      'raft transport closing a connection after bad input',
    );
    socket.destroy();
  }
}
