import type { Command } from 'commander';
import { StreamBusError } from '../../src/index.js';
import type {
  BrokerAction,
  ClusterBrokerDescription,
  DescribeClusterResponse,
  QuorumAction,
} from '../../src/protocol/messages.js';
import { renderTable } from './common.js';
import { cliClient, withBootstrap } from './connect-flags.js';

/** The metadata group's members, one line (`cluster status` and the voter commands). */
function renderQuorum(voters: readonly number[], learners: readonly number[]): string {
  return `metadata voters ${voters.join(', ') || '-'}\tlearners ${learners.join(', ') || '-'}\n`;
}

/**
 * What a metadata quorum of this size survives, when it is less than an operator may assume: one voter
 * survives no failure, and an even count tolerates no more failures than one voter fewer.
 */
export function quorumSizeWarning(voters: number): string {
  if (voters === 1) {
    return 'warning: the metadata quorum is one voter: losing that broker stops every metadata change (add-voter another two)\n';
  }
  if (voters % 2 === 0) {
    return `warning: ${voters} metadata voters survive no more failures than ${voters - 1}: add or remove one voter for an odd count\n`;
  }
  return '';
}

/** What drainCapacityWarning needs of a topic: its partitions' replica lists. */
export interface TopicReplicas {
  name: string;
  partitions: readonly { replicas: readonly number[] }[];
}

/**
 * Why draining (or decommissioning) `brokerId` can never finish, when it cannot: the coordinator moves a
 * replica only to an alive broker that holds none of the partition's replicas yet, so a partition with
 * replication factor R needs R alive brokers besides the leaving one. With fewer (3 brokers, RF 3) nothing
 * moves and `cluster status` says NOT safe to stop for ever. Empty when every partition on it can move.
 */
export function drainCapacityWarning(
  brokers: readonly ClusterBrokerDescription[],
  topics: readonly TopicReplicas[],
  brokerId: number,
): string {
  const others = brokers.filter((b) => b.id !== brokerId && b.state === 'alive').length;
  const stuck = topics.flatMap((t) => {
    const on = t.partitions.filter((p) => p.replicas.includes(brokerId));
    const factor = Math.max(0, ...on.map((p) => p.replicas.length));
    return on.length > 0 && factor > others ? [{ name: t.name, factor, partitions: on.length }] : [];
  });
  if (stuck.length === 0) return '';
  const stuckPartitions = stuck.reduce((n, t) => n + t.partitions, 0);
  const shown = stuck
    .slice(0, 3)
    .map((t) => `${t.name} (replication factor ${t.factor})`)
    .join(', ');
  const more = stuck.length > 3 ? ` and ${stuck.length - 3} more topics` : '';
  return (
    `warning: ${stuckPartitions} partitions on broker ${brokerId} have nowhere to go: ${shown}${more} ` +
    `need that many alive brokers besides it, and there are ${others}. They stay on it and it never ` +
    'becomes safe to stop: add a broker first, or undrain it (docs/operations.md, "Drain and decommission a broker")\n'
  );
}

/** The human-readable `cluster status` report. */
/**
 * Without a metadata leader (a majority of the voters down or cut off) the answering broker's view is the
 * last it applied: brokers that died since still show alive, and nothing changes until a majority is back.
 */
function noLeaderWarning(c: DescribeClusterResponse): string {
  if (c.metadataLeaderId >= 0 || c.metadataVoters.length === 0) return '';
  return (
    `WARNING: the metadata quorum has no leader (fewer than ${Math.floor(c.metadataVoters.length / 2) + 1} of ` +
    `${c.metadataVoters.length} voters reachable from broker ${c.brokerId}): this view is what it last applied ` +
    'and may be stale; topic and broker changes wait until a majority is back\n'
  );
}

export function renderClusterStatus(c: DescribeClusterResponse): string {
  const leader = c.metadataLeaderId >= 0 ? String(c.metadataLeaderId) : 'unknown';
  const alive = c.brokers.filter((b) => b.state === 'alive').length;
  const header =
    `cluster ${c.clusterId}\tanswered by broker ${c.brokerId}\n` +
    `metadata leader ${leader}\tterm ${c.metadataTerm}\tversion ${c.metadataVersion}\n` +
    renderQuorum(c.metadataVoters, c.metadataLearners) +
    renderFeatureLevel(c) +
    noLeaderWarning(c) +
    `brokers ${c.brokers.length} (${alive} alive)\n`;
  const table = renderTable(
    ['ID', 'STATE', 'CLIENT', 'PEER', 'RACK', 'REPLICAS', 'MOVING OFF', 'LEADERS', 'LEVEL'],
    c.brokers.map((b) => [
      `${b.id}${b.id === c.metadataLeaderId ? '*' : ''}`,
      b.state,
      `${b.host}:${b.port}`,
      b.peerPort > 0 ? `${b.peerHost}:${b.peerPort}` : '-',
      b.rack ?? '-',
      String(b.replicas),
      String(b.movingOff),
      String(b.leaders),
      b.featureLevel === undefined ? '-' : String(b.featureLevel),
    ]),
  );
  const { score, replicaScore, leaderScore } = c.imbalance;
  const footer =
    `imbalance ${score.toFixed(2)} (replicas ${replicaScore.toFixed(2)}, leaders ${leaderScore.toFixed(2)})\n` +
    `under-replicated partitions ${c.underReplicatedPartitions} of ${c.partitions}\n`;
  const leaving = c.brokers.filter((b) => b.state === 'draining' || b.state === 'decommissioned');
  return `${header}${table}${footer}${leaving.map((b) => `${stopVerdict(c, b)}\n`).join('')}${renderReplication(c)}`;
}

/**
 * The cluster feature level and how far a rolling upgrade has come (docs/operations.md, "Cluster feature
 * levels"); the LEVEL column is each broker's build.
 */
function renderFeatureLevel(c: DescribeClusterResponse): string {
  const { featureLevel, supportedFeatureLevel } = c;
  if (featureLevel === undefined || supportedFeatureLevel === undefined) {
    return 'feature level unknown (answered by a build before feature levels)\n';
  }
  if (featureLevel >= supportedFeatureLevel) return `feature level ${featureLevel}\n`;
  const older = c.brokers
    .filter((b) => b.state !== 'decommissioned' && (b.featureLevel ?? 1) < supportedFeatureLevel)
    .map((b) => b.id);
  const why =
    older.length > 0
      ? `brokers ${older.join(', ')} run an older build`
      : 'every broker supports it: finalizing, or held by cluster.feature_level_max';
  return `feature level ${featureLevel} (this build supports ${supportedFeatureLevel}; ${why})\n`;
}

/**
 * Whether a draining or decommissioned broker may be stopped (the runbook's wait, said outright). Not while
 * it holds a replica, a pending move off it or a leadership: a partition's Raft group may still count it as
 * a voter, and stopping it plus one more failure would stall that partition. Nor while any partition is
 * under-replicated: a move completed without its new replica in sync (MOVE_CATCH_UP_MAX_MS) can leave a
 * group still counting it, with no other trace in metadata than that partition's short in-sync set. Nor
 * while it is a metadata voter.
 */
export function stopVerdict(c: DescribeClusterResponse, b: ClusterBrokerDescription): string {
  const name = `broker ${b.id} ${b.state}`;
  if (b.replicas > 0 || b.leaders > 0) {
    const moving =
      b.movingOff > 0 ? ` (${b.movingOff} still moving off: their new replica is not in sync yet)` : '';
    return `${name}: NOT safe to stop: ${b.replicas} partitions on it${moving}, ${b.leaders} led by it`;
  }
  if (c.metadataVoters.includes(b.id)) {
    // The metadata quorum counts it: stopped, one more failure among the voters loses the quorum.
    return `${name}: NOT safe to stop: it is a metadata voter; remove it first (cluster remove-voter ${b.id})`;
  }
  if (c.underReplicatedPartitions > 0) {
    return `${name}: NOT safe to stop: holds nothing, but ${c.underReplicatedPartitions} partitions are under-replicated (a partition's group may still count it; any broker down also counts)`;
  }
  return b.state === 'decommissioned'
    ? `${name}: empty, safe to stop (it leaves this list once the coordinator unregisters it)`
    : `${name}: empty, safe to stop; decommission it to remove it from the cluster`;
}

/** The metadata log's replication per member (only the metadata leader's answer carries it). */
function renderReplication(c: DescribeClusterResponse): string {
  if (c.metadataReplication.length === 0) return '';
  const role = (id: number): string =>
    c.metadataVoters.includes(id) ? 'voter' : c.metadataLearners.includes(id) ? 'learner' : 'leaving';
  const heard = (ms: number): string => (ms < 0 ? 'never' : ms === 0 ? 'now' : `${ms} ms ago`);
  return (
    `metadata log replication (as leader ${c.brokerId} sees it)\n` +
    renderTable(
      ['ID', 'ROLE', 'MATCH', 'LAG', 'LAST HEARD'],
      c.metadataReplication.map((r) => [
        `${r.brokerId}${r.brokerId === c.metadataLeaderId ? '*' : ''}`,
        role(r.brokerId),
        String(r.matchIndex),
        String(r.lag),
        heard(r.silentMs),
      ]),
    )
  );
}

export function registerClusterCommand(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('inspect the cluster: brokers, metadata quorum, balance');

  withBootstrap(
    cluster
      .command('status')
      .description(
        'metadata leader and term, brokers with their state, load and moves off them, whether a draining or decommissioned broker is safe to stop, imbalance, under-replicated partitions, metadata log lag per voter and learner',
      )
      .option('--json', 'print JSON'),
  ).action(async (opts: { bootstrap: string; json?: boolean }) => {
    const client = cliClient(opts);
    let described: DescribeClusterResponse;
    try {
      described = await client.admin().describeCluster({ fromMetadataLeader: true });
    } finally {
      await client.close();
    }
    process.stdout.write(
      opts.json ? `${JSON.stringify(described, null, 2)}\n` : renderClusterStatus(described),
    );
  });

  const actions: readonly [BrokerAction, string][] = [
    ['drain', 'move replicas and leadership off a broker and keep new ones off it'],
    ['undrain', 'make a draining broker a normal member again'],
    ['decommission', 'empty a broker, then remove it from the cluster (it stops heartbeating)'],
  ];
  for (const [action, description] of actions) {
    withBootstrap(cluster.command(`${action} <brokerId>`).description(description)).action(
      async (brokerId: string, opts: { bootstrap: string }) => {
        const id = parseBrokerId(brokerId, `cluster.${action}`);
        const client = cliClient(opts);
        try {
          const admin = client.admin();
          const state = await admin.alterBroker(id, action);
          process.stdout.write(`broker ${id} is ${state}\n`);
          if (action !== 'undrain') {
            const { brokers } = await admin.describeCluster({ fromMetadataLeader: true });
            const names = (await admin.listTopics()).map((t) => t.name);
            const topics = names.length === 0 ? [] : await admin.describeTopics(names);
            process.stderr.write(drainCapacityWarning(brokers, topics, id));
          }
        } finally {
          await client.close();
        }
      },
    );
  }

  const quorumActions: readonly [QuorumAction, string][] = [
    [
      'add-voter',
      'make a registered broker a metadata voter (one at a time; it must have caught up as a learner)',
    ],
    ['remove-voter', 'make a metadata voter a learner again (refused if no answering majority would remain)'],
  ];
  for (const [action, description] of quorumActions) {
    withBootstrap(cluster.command(`${action} <brokerId>`).description(description)).action(
      async (brokerId: string, opts: { bootstrap: string }) => {
        const id = parseBrokerId(brokerId, `cluster.${action}`);
        const client = cliClient(opts);
        try {
          const m = await client.admin().alterQuorum(id, action);
          process.stdout.write(renderQuorum(m.voters, m.learners));
          process.stderr.write(quorumSizeWarning(m.voters.length));
        } finally {
          await client.close();
        }
      },
    );
  }
}

function parseBrokerId(text: string, operation: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new StreamBusError('INVALID_REQUEST', {
      operation,
      message: `broker id must be a positive integer, got "${text}"`,
    });
  }
  return id;
}
