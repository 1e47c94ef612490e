/**
 * N broker processes, node i on 127.0.1.(i+1) with its own data dir (optionally a small tmpfs) and its own
 * client-side proxy. With `replicated`, the nodes form one cluster: broker id i+1, a peer listener on the
 * node's own address (the broker then also dials its peers from that address, which is what lets nft rules
 * by source and destination partition them), and the same voter list for all. Between brokers sits a peer
 * proxy per node, on that node's own address, which the voter list and the advertised peer address name,
 * so broker-to-broker traffic can be slowed like client traffic and is still cut by partition rules
 * (`peerProxies: false`: brokers dial each other directly).
 * Without `replicated`, each broker is standalone.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
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
  /** Cluster mode: one metadata quorum of all the nodes, replicated partitions. */
  replicated?: boolean;
  /**
   * Cluster mode: brokers reach each other through peer proxies (default), which the slow nemesis acts on;
   * false: directly (a benchmark that wants no extra hop between brokers).
   */
  peerProxies?: boolean;
  /**
   * First three octets of the nodes' addresses (default 127.0.1). Concurrent runs that partition the network
   * use different prefixes so one run's drop rules never touch another's brokers.
   */
  hostPrefix?: string;
  onUnexpectedExit?: (node: number, code: number | null, signal: NodeJS.Signals | null) => void;
}

export const DEFAULT_HOST_PREFIX = '127.0.1';

export function nodeHost(index: number, prefix = DEFAULT_HOST_PREFIX): string {
  return `${prefix}.${index + 1}`;
}

/** The broker id of node `index` in cluster mode (ids start at 1; 0 is not a valid voter id). */
export function brokerIdOf(index: number): number {
  return index + 1;
}

/** `1@host:port,2@host:port,...`: the metadata quorum every node is started with (`peerPort`: where peers dial). */
export function votersList(peers: readonly { host: string; peerPort: number }[]): string {
  return peers.map((p, i) => `${brokerIdOf(i)}@${p.host}:${p.peerPort}`).join(',');
}

/** A port free on `host` right now (the voter list must name every peer port before any broker starts). */
export async function freePortOn(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The proxy other brokers dial to reach node `host`'s peer listener. It listens on the node's own address
 * and dials the broker from it, so to nft a peer's packets to and from the proxy are packets to and from that
 * node (a partition cuts them), while the proxy's own hop to its broker stays inside the node.
 */
export async function startPeerProxy(
  host: string,
  peerPort: number,
  random: () => number,
): Promise<TcpProxy> {
  const proxy = new TcpProxy({
    listenHost: host,
    targetHost: host,
    targetPort: peerPort,
    localAddress: host,
    random,
  });
  await proxy.start();
  return proxy;
}

export class BrokerCluster {
  readonly nodes: BrokerNode[] = [];
  readonly tmpfsSizeMb: number | null;
  readonly replicated: boolean;

  private constructor(tmpfsSizeMb: number | null, replicated: boolean) {
    this.tmpfsSizeMb = tmpfsSizeMb;
    this.replicated = replicated;
  }

  static async start(o: BrokerClusterOptions): Promise<BrokerCluster> {
    const replicated = o.replicated ?? false;
    const cluster = new BrokerCluster(o.tmpfsSizeMb, replicated);
    const hosts = Array.from({ length: o.nodes }, (_, i) => nodeHost(i, o.hostPrefix));
    const peerPorts = replicated ? await Promise.all(hosts.map((h) => freePortOn(h))) : [];
    const peerProxies: TcpProxy[] = [];
    for (let i = 0; i < (o.peerProxies === false ? 0 : peerPorts.length); i++) {
      const peerProxy = await startPeerProxy(hosts[i]!, peerPorts[i]!, o.random);
      o.cleanup.add({
        name: `peer proxy ${i}`,
        run: () => peerProxy.close(),
        runSync: () => peerProxy.resetAll(),
      });
      peerProxies.push(peerProxy);
    }
    const voters = votersList(
      peerPorts.map((port, i) => ({ host: hosts[i]!, peerPort: peerProxies[i]?.port ?? port })),
    );
    for (let i = 0; i < o.nodes; i++) {
      const host = hosts[i]!;
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
        targetHost: host,
        targetPort: 0,
        random: o.random,
      });
      await proxy.start();
      o.cleanup.add({ name: `proxy ${i}`, run: () => proxy.close(), runSync: () => proxy.resetAll() });
      const peerProxy = peerProxies[i] ?? null;
      const clusterEnv: NodeJS.ProcessEnv = replicated
        ? {
            STREAMBUS_BROKER_ID: String(brokerIdOf(i)),
            STREAMBUS_CLUSTER_ENABLED: 'true',
            STREAMBUS_CLUSTER_PEER_LISTEN: `${host}:${peerPorts[i]}`,
            // Peers learn this broker's address from the registry too: it must name the proxy as well.
            ...(peerProxy === null ? {} : { STREAMBUS_CLUSTER_ADVERTISED_PEER_LISTEN: peerProxy.address }),
            STREAMBUS_CLUSTER_VOTERS: voters,
          }
        : {};
      const node = new BrokerNode({
        id: i,
        host,
        dataDir,
        logPath: join(o.logDir, `node-${i}.log`),
        proxy,
        peerProxy,
        onUnexpectedExit: (code, signal) => o.onUnexpectedExit?.(i, code, signal),
        env: { ...clusterEnv, ...o.env },
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
    }
    // A cluster node waits for its quorum, so all must start together; a standalone one starts alone.
    if (replicated) await Promise.all(cluster.nodes.map((n) => n.start()));
    else for (const n of cluster.nodes) await n.start();
    return cluster;
  }

  /** The node index of a broker id (cluster mode), or null when no node has it. */
  indexOfBroker(brokerId: number): number | null {
    const index = this.replicated ? brokerId - 1 : brokerId;
    return this.nodes[index] === undefined ? null : index;
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
      n.proxy.heal();
      n.peerProxy?.heal();
      if (!n.running) await n.start();
    }
  }
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
