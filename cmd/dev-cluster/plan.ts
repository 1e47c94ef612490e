/**
 * Pure planning for `streambus dev-cluster`: which brokers, on which ports, with which flags, and which of
 * them vote in the metadata quorum. No I/O: the supervisor (supervisor.ts) starts what this describes.
 */
import { join } from 'node:path';

/** Most brokers one dev-cluster starts: a laptop-sized bound, not a protocol limit. */
export const DEV_CLUSTER_BROKERS_MAX = 9;
/** Ports per broker in a `--base-port` block: client, peer, http (the rest of the ten are spare). */
export const PORT_STRIDE = 10;
export const DEFAULT_BASE_PORT = 9092;

export interface BrokerPorts {
  readonly client: number;
  readonly peer: number;
  readonly http: number;
}

export interface PlannedBroker {
  readonly id: number;
  readonly host: string;
  readonly ports: BrokerPorts;
  readonly dataDir: string;
  readonly logFile: string;
  readonly voter: boolean;
  /** Arguments after `streambus` (the supervisor prefixes node and the CLI path). */
  readonly args: readonly string[];
}

/**
 * How many of N brokers vote: all of them for 1, 3 or 5; otherwise the largest odd quorum of 1 or 3 that
 * fits (the rest are non-voters).
 */
export function voterCount(brokers: number): number {
  if (brokers === 1 || brokers === 3 || brokers === 5) return brokers;
  return brokers < 3 ? 1 : 3;
}

/** Broker i (1-based) gets client P+(i-1)*10, peer +1, http +2. */
export function blockPorts(basePort: number, brokers: number): BrokerPorts[] {
  return Array.from({ length: brokers }, (_, i) => {
    const client = basePort + i * PORT_STRIDE;
    return { client, peer: client + 1, http: client + 2 };
  });
}

export function planDevCluster(options: {
  readonly dataDir: string;
  readonly host: string;
  readonly ports: readonly BrokerPorts[];
}): PlannedBroker[] {
  const { dataDir, host, ports } = options;
  const voters = voterCount(ports.length);
  const voterList = ports
    .slice(0, voters)
    .map((p, i) => `${i + 1}@${host}:${p.peer}`)
    .join(',');
  return ports.map((p, i) => {
    const id = i + 1;
    const brokerDir = join(dataDir, `broker-${id}`);
    return {
      id,
      host,
      ports: p,
      dataDir: brokerDir,
      logFile: join(dataDir, `broker-${id}.log`),
      voter: i < voters,
      args: [
        'broker',
        '--node-id',
        String(id),
        '--data-dir',
        brokerDir,
        '--listen',
        `${host}:${p.client}`,
        '--peer-listen',
        `${host}:${p.peer}`,
        '--http-listen',
        `${host}:${p.http}`,
        // Non-voters are given the voter set too: they reach the quorum through it.
        '--voters',
        voterList,
      ],
    };
  });
}

export function bootstrapOf(brokers: readonly PlannedBroker[]): string {
  return brokers.map((b) => `${b.host}:${b.ports.client}`).join(',');
}

/** Checks --brokers and --base-port; returns the message to print, or null when they are usable. */
export function checkDevClusterOptions(brokers: number, basePort: number): string | null {
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > DEV_CLUSTER_BROKERS_MAX) {
    return `--brokers must be an integer from 1 to ${DEV_CLUSTER_BROKERS_MAX}, got ${brokers}`;
  }
  const last = basePort + (brokers - 1) * PORT_STRIDE + 2;
  if (!Number.isInteger(basePort) || basePort < 0 || (basePort > 0 && (basePort < 1024 || last > 65_535))) {
    return `--base-port must be 0 (free ports) or leave room for ${brokers} brokers between 1024 and 65535, got ${basePort}`;
  }
  return null;
}
