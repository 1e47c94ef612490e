/** What a broker process's replica folders hold on disk, read by process tests behind its back. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPLICAS_DIR } from '../../src/storage/log-manager.js';
import type { BrokerProcess } from './broker-process.js';

/** The log start of the broker's replica of `topic` partition 0: its oldest segment's base offset; -1 without one. */
export function diskLogStart(b: BrokerProcess, topic: string): number {
  const root = join(b.dataDir, REPLICAS_DIR);
  const dir = readdirSync(root).find((name) => name.startsWith(`${topic}-0-`));
  if (dir === undefined) return -1;
  const bases = readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.log'))
    .map((f) => Number(f.slice(0, -'.log'.length)));
  return bases.length === 0 ? -1 : Math.min(...bases);
}
