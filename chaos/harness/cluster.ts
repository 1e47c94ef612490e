/**
 * N broker processes, node i on 127.0.1.(i+1) with its own data dir (optionally a small tmpfs) and its own
 * client-side proxy. Today each broker is standalone (no replication yet); the addresses and the proxies are
 * what partition and slow nemeses act on, so the same harness serves a real cluster later.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerNode } from './broker-node.js';
import type { Cleanup } from './cleanup.js';
import { TcpProxy } from './tcp-proxy.js';
import { mountTmpfs, unmountTmpfs } from './tmpfs.js';

export interface BrokerClusterOptions {
  nodes: number;
  /** Data dirs go under here (removed after the run). */
  workDir: string;
  /** Broker logs go here (kept). */
  logDir: string;
  /** Mount each data dir as a tmpfs of this size (the disk-full nemesis needs it); null: plain dirs. */
  tmpfsSizeMb: number | null;
  cleanup: Cleanup;
  random: () => number;
  env?: NodeJS.ProcessEnv;
  onUnexpectedExit?: (node: number, code: number | null, signal: NodeJS.Signals | null) => void;
}

export function nodeHost(index: number): string {
  return `127.0.1.${index + 1}`;
}

export class BrokerCluster {
  readonly nodes: BrokerNode[] = [];
  readonly tmpfsSizeMb: number | null;

  private constructor(tmpfsSizeMb: number | null) {
    this.tmpfsSizeMb = tmpfsSizeMb;
  }

  static async start(o: BrokerClusterOptions): Promise<BrokerCluster> {
    const cluster = new BrokerCluster(o.tmpfsSizeMb);
    for (let i = 0; i < o.nodes; i++) {
      const dataDir = join(o.workDir, `node-${i}-data`);
      mkdirSync(dataDir, { recursive: true });
      if (o.tmpfsSizeMb !== null) {
        mountTmpfs(dataDir, o.tmpfsSizeMb);
        o.cleanup.add({
          name: `umount ${dataDir}`,
          run: async () => unmountTmpfs(dataDir),
          runSync: () => unmountTmpfs(dataDir),
        });
      }
      const proxy = new TcpProxy({
        listenHost: '127.0.0.1',
        targetHost: nodeHost(i),
        targetPort: 0,
        random: o.random,
      });
      await proxy.start();
      o.cleanup.add({ name: `proxy ${i}`, run: () => proxy.close(), runSync: () => proxy.resetAll() });
      const node = new BrokerNode({
        id: i,
        host: nodeHost(i),
        dataDir,
        logPath: join(o.logDir, `node-${i}.log`),
        proxy,
        onUnexpectedExit: (code, signal) => o.onUnexpectedExit?.(i, code, signal),
        ...(o.env === undefined ? {} : { env: o.env }),
      });
      o.cleanup.add({
        name: `broker ${i}`,
        run: async () => {
          await node.stop();
          node.closeLog();
        },
        runSync: () => node.killSync(),
      });
      cluster.nodes.push(node);
      await node.start();
    }
    return cluster;
  }

  node(index: number): BrokerNode {
    const n = this.nodes[index];
    if (n === undefined) throw new Error(`no node ${index} (cluster of ${this.nodes.length})`);
    return n;
  }

  /** Client bootstrap list (through the proxies). */
  get bootstrap(): string[] {
    return this.nodes.map((n) => n.clientAddress);
  }

  get brokerAddresses(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** Restarts every node that is down and resumes every paused one (the "heal everything" before a drain). */
  async healAll(): Promise<void> {
    for (const n of this.nodes) {
      n.resume();
      n.proxy.setFaults(null);
      if (!n.running) await n.start();
    }
  }
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
