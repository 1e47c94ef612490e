/**
 * Disk full: the broker's data dir is a small tmpfs (the cluster mounts it), and the fault fills what is
 * left with a ballast file until ENOSPC; the heal deletes the ballast. Needs root for the mount.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpfsUnavailableReason } from '../harness/tmpfs.js';
import type { Nemesis, NemesisContext } from './nemesis.js';
import type { FaultStep } from './plan.js';

const BALLAST = 'chaos-ballast.bin';

/** Writes zeros until the filesystem refuses; returns the bytes written. */
export function fillDisk(path: string): number {
  const chunk = Buffer.alloc(64 * 1024);
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // Top up the last partial chunk so not even a small write fits.
    for (let size = 32 * 1024; size >= 512; size >>= 1) {
      try {
        written += writeSync(fd, chunk.subarray(0, size));
      } catch {
        // this size does not fit: try a smaller one
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

export class DiskFullNemesis implements Nemesis {
  readonly name = 'disk-full';
  private ballast: string | null = null;

  async unavailableReason(ctx: NemesisContext): Promise<string | null> {
    const reason = tmpfsUnavailableReason();
    if (reason !== null) return reason;
    if (ctx.cluster.tmpfsSizeMb === null)
      return 'data dirs are not on a tmpfs (the runner mounts them for disk-full)';
    return null;
  }

  async start(ctx: NemesisContext, step: FaultStep): Promise<string> {
    const node = ctx.cluster.node(step.target % ctx.cluster.nodes.length);
    this.ballast = join(node.dataDir, BALLAST);
    const bytes = fillDisk(this.ballast);
    return `filled broker ${node.id}'s ${ctx.cluster.tmpfsSizeMb} MB tmpfs with ${(bytes / 1048576).toFixed(1)} MB of ballast`;
  }

  async stop(): Promise<void> {
    if (this.ballast !== null) rmSync(this.ballast, { force: true });
    this.ballast = null;
  }

  async cleanup(): Promise<void> {
    await this.stop();
  }
}
