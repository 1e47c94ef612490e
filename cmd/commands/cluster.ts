import type { Command } from 'commander';
import { createClient } from '../../src/index.js';
import type { DescribeClusterResponse } from '../../src/protocol/messages.js';
import { bootstrapList, renderTable, withBootstrap } from './common.js';

/** The human-readable `cluster status` report. */
export function renderClusterStatus(c: DescribeClusterResponse): string {
  const leader = c.metadataLeaderId >= 0 ? String(c.metadataLeaderId) : 'unknown';
  const alive = c.brokers.filter((b) => b.state === 'alive').length;
  const header =
    `cluster ${c.clusterId}\tanswered by broker ${c.brokerId}\n` +
    `metadata leader ${leader}\tterm ${c.metadataTerm}\tversion ${c.metadataVersion}\n` +
    `brokers ${c.brokers.length} (${alive} alive)\n`;
  const table = renderTable(
    ['ID', 'STATE', 'CLIENT', 'PEER', 'RACK', 'REPLICAS', 'LEADERS'],
    c.brokers.map((b) => [
      `${b.id}${b.id === c.metadataLeaderId ? '*' : ''}`,
      b.state,
      `${b.host}:${b.port}`,
      b.peerPort > 0 ? `${b.peerHost}:${b.peerPort}` : '-',
      b.rack ?? '-',
      String(b.replicas),
      String(b.leaders),
    ]),
  );
  const { score, replicaScore, leaderScore } = c.imbalance;
  const footer =
    `imbalance ${score.toFixed(2)} (replicas ${replicaScore.toFixed(2)}, leaders ${leaderScore.toFixed(2)})\n` +
    `under-replicated partitions ${c.underReplicatedPartitions} of ${c.partitions}\n`;
  return `${header}${table}${footer}`;
}

export function registerClusterCommand(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('inspect the cluster: brokers, metadata quorum, balance');

  withBootstrap(
    cluster
      .command('status')
      .description(
        'metadata leader and term, brokers with their state and load, imbalance, under-replicated partitions',
      )
      .option('--json', 'print JSON'),
  ).action(async (opts: { bootstrap: string; json?: boolean }) => {
    const client = createClient({ bootstrap: bootstrapList(opts.bootstrap), clientId: 'streambus-cli' });
    let described: DescribeClusterResponse;
    try {
      described = await client.admin().describeCluster();
    } finally {
      await client.close();
    }
    process.stdout.write(
      opts.json ? `${JSON.stringify(described, null, 2)}\n` : renderClusterStatus(described),
    );
  });
}
