/**
 * Accepted sockets read like dialed ones (acceptReading): into a shared buffer, or straight into the frame
 * being assembled, instead of a fresh 64 KiB buffer per read.
 */
import { connect, createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { acceptReading } from '../../src/protocol/socket-io.js';

const MiB = 1024 * 1024;

function frame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length);
  return Buffer.concat([prefix, body]);
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('acceptReading', () => {
  it('moves an accepted socket onto shared and in-place reads; every frame arrives whole', async () => {
    const bodies = [
      Buffer.alloc(10, 1),
      Buffer.alloc(3 * MiB, 2),
      Buffer.alloc(70_000, 3),
      Buffer.alloc(5, 4),
    ];
    bodies[1]!.writeUInt32BE(0xdeadbeef, 2 * MiB);
    const received: Buffer[] = [];
    let inPlaceChunks = 0;
    let original: Socket | undefined;
    let moved: Socket | undefined;
    const done = new Promise<void>((resolve) => {
      server = createServer({ pauseOnConnect: true }, (accepted) => {
        original = accepted;
        const { socket, onBytes } = acceptReading(accepted);
        moved = socket;
        const decoder = new FrameDecoder({ eagerFrameBytes: 4 * MiB });
        let target: Buffer | null = null;
        onBytes(
          (chunk) => {
            if (target !== null && chunk.buffer === target.buffer) inPlaceChunks++;
            received.push(...decoder.push(chunk));
            if (received.length === bodies.length) {
              socket.end('ok');
              resolve();
            }
          },
          () => {
            target = decoder.inPlaceTarget();
            return target;
          },
        );
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const port = (server!.address() as { port: number }).port;
    const client = connect(port, '127.0.0.1');
    const reply = new Promise<string>((resolve) => {
      let text = '';
      client.on('data', (d) => {
        text += d.toString();
      });
      client.on('end', () => resolve(text));
    });
    client.write(Buffer.concat(bodies.map(frame)));
    await done;
    expect(await reply).toBe('ok');
    client.destroy();
    expect(moved).not.toBe(original);
    expect(original!.destroyed).toBe(true);
    expect(received).toHaveLength(bodies.length);
    received.forEach((f, i) => {
      expect(f.equals(bodies[i]!)).toBe(true);
    });
    expect(inPlaceChunks).toBeGreaterThan(0);
  });

  it('falls back to the accepted socket and its data events where there is no handle to move', () => {
    const bare = new Socket();
    const { socket, onBytes } = acceptReading(bare);
    expect(socket).toBe(bare);
    const got: string[] = [];
    onBytes((chunk) => got.push(chunk.toString()));
    bare.emit('data', Buffer.from('x'));
    expect(got).toEqual(['x']);
    bare.destroy();
  });
});
