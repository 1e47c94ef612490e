/**
 * nftables plumbing for partitions: one dedicated table per harness process, holding drop rules between
 * sets of loopback addresses. Dropped on the input hook, so senders see silence (timeouts), not the EPERM a
 * drop on output gives. Healing flushes the chain; cleanup deletes the whole table, also from exit handlers.
 *
 * Applying and healing run nft as a child without waiting synchronously: the harness's proxies and workload
 * share its event loop, and a blocking spawn on a loaded machine stalled every link for 835 ms once. Only the
 * exit-handler cleanup waits synchronously (nothing else runs by then).
 *
 * Loopback connections take source 127.0.0.1 unless the socket binds, so broker-to-broker connections must
 * bind their own 127.0.1.N address (net.connect localAddress) for these rules to see them.
 */
import { execFile, execFileSync } from 'node:child_process';
import type { PartitionMode } from './plan.js';

export interface DropRule {
  from: readonly string[];
  to: readonly string[];
}

export const TABLE_FAMILY = 'inet';

export function tableName(pid = process.pid): string {
  return `streambus_chaos_${pid}`;
}

/** Which packets to drop for a partition of `hosts` around `target`. Pure. */
export function partitionRules(mode: PartitionMode, hosts: readonly string[], target: number): DropRule[] {
  const n = hosts.length;
  if (n < 2) return [];
  const t = ((target % n) + n) % n;
  const rotated = [...hosts.slice(t), ...hosts.slice(0, t)];
  const minoritySize = mode === 'majority-minority' ? Math.max(1, Math.floor(n / 2)) : 1;
  const side = rotated.slice(0, minoritySize);
  const rest = rotated.slice(minoritySize);
  if (mode === 'one-way') return [{ from: side, to: rest }];
  return [
    { from: side, to: rest },
    { from: rest, to: side },
  ];
}

const set = (hosts: readonly string[]): string =>
  hosts.length === 1 ? hosts[0]! : `{ ${hosts.join(', ')} }`;

/** An nft script creating the table and chain (idempotently) and adding the rules. Pure. */
export function rulesScript(table: string, rules: readonly DropRule[]): string {
  const lines = [
    `table ${TABLE_FAMILY} ${table} {`,
    '  chain input {',
    '    type filter hook input priority -10; policy accept;',
    ...rules.map((r) => `    ip saddr ${set(r.from)} ip daddr ${set(r.to)} drop`),
    '  }',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

export function nftUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for nftables';
  try {
    execFileSync('nft', ['list', 'tables'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `nft is not usable (apt-get install -y nftables): ${(err as Error).message.split('\n')[0]}`;
  }
}

/** Runs nft as a child without blocking the event loop; `input` goes to its stdin. */
function nft(args: readonly string[], input = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', args, (err) => (err === null ? resolve() : reject(err)));
    child.stdin?.end(input);
  });
}

export class NftTable {
  constructor(readonly name = tableName()) {}

  /** Replaces every rule in the table with these. */
  async apply(rules: readonly DropRule[]): Promise<void> {
    await this.remove();
    await nft(['-f', '-'], rulesScript(this.name, rules));
  }

  /** Removes the table and its rules; resolves also when it does not exist. */
  async remove(): Promise<void> {
    await nft(['delete', 'table', TABLE_FAMILY, this.name]).catch(() => {
      // not there
    });
  }

  /** `remove`, waiting synchronously: for exit handlers only. */
  delete(): void {
    try {
      execFileSync('nft', ['delete', 'table', TABLE_FAMILY, this.name], { stdio: 'pipe' });
    } catch {
      // not there
    }
  }

  exists(): boolean {
    try {
      execFileSync('nft', ['list', 'table', TABLE_FAMILY, this.name], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  }
}
