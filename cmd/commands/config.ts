import type { Command } from 'commander';
import type { ConfigResource, StreamBusClient } from '../../src/index.js';
import { UNLIMITED_QUOTA } from '../../src/metadata/client-quota-rules.js';
import { parseKeyValues, renderTable } from './common.js';
import { withBootstrap, withClient } from './connect-flags.js';

interface PrintOptions {
  config?: string;
  sources?: boolean;
}

interface ResourceOptions {
  topic?: string;
  cluster?: boolean;
  client?: string;
  clientDefault?: boolean;
  bootstrap: string;
}

interface AlterOptions extends ResourceOptions {
  set: string[];
  delete: string[];
  validateOnly?: boolean;
}

/**
 * `streambus config validate FILE` and `streambus config print`: check a file without starting a broker,
 * and show the effective config (defaults < file < STREAMBUS_* env) with secret keys masked.
 * `streambus config describe|alter --topic T | --cluster`: a running cluster's topic-level configs (like
 * kafka-configs.sh): one topic's, or the cluster-wide defaults every topic inherits.
 * `--client ID | --client-default`: the quotas (byte rates, request time) of one client id, or the default of every client id
 * (kafka-configs.sh --entity-type clients --entity-name ID | --entity-default).
 */
export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description('validate a config file or print the effective config');

  config
    .command('validate <file>')
    .description('check a YAML config file; exit 0 and print "valid", or exit 1 naming each bad key')
    .action(async (file: string) => {
      const { loadConfigDetailed } = await import('../../src/config/index.js');
      // Validating the file alone: the caller's STREAMBUS_* env is not part of what is being checked.
      // Warnings (a secret written in the file) go to stderr and leave the file valid.
      const problems = collectProblems(() =>
        loadConfigDetailed({
          file,
          env: {},
          onWarning: (message) => process.stderr.write(`${file}: warning: ${message}\n`),
        }),
      );
      if (problems.length === 0) {
        process.stdout.write(`${file}: valid\n`);
        return;
      }
      for (const problem of problems) process.stderr.write(`${file}: ${problem}\n`);
      process.exitCode = 1;
    });

  config
    .command('print')
    .description('print the effective config as YAML (defaults < file < STREAMBUS_* env); secrets masked')
    .option('--config <file>', 'YAML config file')
    .option('--sources', 'append where each value came from (default, file, env)')
    .action(async (options: PrintOptions) => {
      const { loadConfigDetailed, renderEffectiveConfig } = await import('../../src/config/index.js');
      const loaded = loadConfigDetailed({
        ...(options.config === undefined ? {} : { file: options.config }),
        env: process.env,
        onWarning: (message) => process.stderr.write(`streambus: warning: ${message}\n`),
      });
      process.stdout.write(renderEffectiveConfig(loaded.values));
      if (options.sources === true) {
        process.stdout.write('# sources:\n');
        for (const [key, source] of loaded.sources) {
          if (source !== 'default') process.stdout.write(`#   ${key}: ${source}\n`);
        }
      }
    });

  withBootstrap(
    config
      .command('describe')
      .description(
        "show a topic's (or the cluster's default) topic configs, or a client id's quotas: value and source of each key",
      )
      .option('--topic <name>', 'the topic')
      .option('--cluster', 'the cluster-wide topic defaults')
      .option('--client <id>', "a client id's quotas (source client, client-default or default)")
      .option('--client-default', 'the quotas every client id gets unless it has its own')
      .option('--json', 'print JSON'),
  ).action(async (opts: ResourceOptions & { json?: boolean }) => {
    const resource = resourceOf(opts);
    const entries = await withClient(opts, (client) => client.admin().describeConfig(resource));
    if (opts.json === true) {
      process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      return;
    }
    // A quota of -1 is no limit, whichever level set it: said in words, since an override of -1 (exempt
    // from the client default) and no override at all (falls back to it) are different things.
    const shown = (value: string) =>
      resource.type === 'client' && value === UNLIMITED_QUOTA ? `${value} (unlimited)` : value;
    process.stdout.write(
      renderTable(
        ['KEY', 'VALUE', 'SOURCE'],
        entries.map((e) => [e.key, shown(e.value), e.source]),
      ),
    );
  });

  withBootstrap(
    config
      .command('alter')
      .description(
        "change a topic's (or the cluster's default) topic configs, or a client id's quotas; keys not named keep their value",
      )
      .option('--topic <name>', 'the topic')
      .option('--cluster', 'the cluster-wide topic defaults (cluster mode)')
      .option(
        '--client <id>',
        "a client id's quotas: producer_byte_rate, consumer_byte_rate (bytes/s), request_percentage (% of the event loop); -1 unlimited, delete to fall back",
      )
      .option('--client-default', 'the quotas every client id gets unless it has its own')
      .option(
        '--set <key=value...>',
        'keys to set, e.g. retention_ms=3600000 or producer_byte_rate=1048576',
        [],
      )
      .option('--delete <key...>', 'keys to remove at this level (the next level shows through)', [])
      .option('--validate-only', 'check the change without applying it'),
  ).action(async (opts: AlterOptions) => {
    const resource = resourceOf(opts);
    const set = parseKeyValues(opts.set, '--set');
    if (Object.keys(set).length === 0 && opts.delete.length === 0) {
      throw new Error('nothing to change: give --set key=value and/or --delete key');
    }
    const unwritable = await withClient(opts, async (client) => {
      const admin = client.admin();
      await admin.alterConfig(
        resource,
        { set, delete: opts.delete },
        { validateOnly: opts.validateOnly === true },
      );
      const minInsync = Number(set.min_insync_replicas);
      return resource.type === 'cluster' && Number.isInteger(minInsync)
        ? topicsBelowMinInsync(admin, minInsync)
        : [];
    });
    const what = describeResource(resource);
    process.stdout.write(
      opts.validateOnly === true ? `valid change to ${what} (not applied)\n` : `altered ${what}\n`,
    );
    for (const t of unwritable) {
      process.stderr.write(
        `warning: topic ${t.name} has ${t.replicas} replica(s) and takes min_insync_replicas from the cluster default: ` +
          `acks=all writes to it are refused (NOT_ENOUGH_REPLICAS) until it is at most ${t.replicas} ` +
          `(streambus config alter --topic ${t.name} --set min_insync_replicas=${t.replicas})\n`,
      );
    }
  });
}

/**
 * Topics whose replication factor is below a new cluster-wide min_insync_replicas and that inherit it (no
 * value of their own): acks=all writes to them would be refused for good, as in Kafka, which accepts such
 * a default silently. The broker accepts it too (it applies to every topic, of any replication factor); the
 * CLI says which topics it stops. Not the broker's own topics (`__consumer_offsets`): they need at most
 * their replica count (broker/topic-configs.ts minInsyncFor), and clients may not configure them anyway.
 */
export async function topicsBelowMinInsync(
  admin: Pick<ReturnType<StreamBusClient['admin']>, 'listTopics' | 'describeTopics' | 'describeConfigs'>,
  minInsync: number,
): Promise<{ name: string; replicas: number }[]> {
  const topics = await admin.describeTopics((await admin.listTopics()).map((t) => t.name));
  const below = topics
    .map((t) => ({ name: t.name, replicas: Math.min(...t.partitions.map((p) => p.replicas.length)) }))
    .filter((t) => t.replicas < minInsync && !t.name.startsWith('__'));
  if (below.length === 0) return [];
  const configs = await admin.describeConfigs(below.map((t) => ({ type: 'topic' as const, name: t.name })));
  return below.filter((t) => {
    const entry = configs
      .find((c) => c.name === t.name)
      ?.entries.find((e) => e.key === 'min_insync_replicas');
    return entry?.source === 'cluster';
  });
}

function resourceOf(opts: ResourceOptions): ConfigResource {
  const given: ConfigResource[] = [
    ...(opts.topic === undefined ? [] : [{ type: 'topic' as const, name: opts.topic }]),
    ...(opts.cluster === true ? [{ type: 'cluster' as const, name: '' }] : []),
    ...(opts.client === undefined ? [] : [{ type: 'client' as const, name: opts.client }]),
    ...(opts.clientDefault === true ? [{ type: 'client' as const, name: '' }] : []),
  ];
  const [only] = given;
  if (given.length !== 1 || only === undefined) {
    throw new Error('give exactly one of --topic <name>, --cluster, --client <id> or --client-default');
  }
  if (opts.client === '') throw new Error('--client needs a client id; --client-default is every client id');
  return only;
}

function describeResource(resource: ConfigResource): string {
  if (resource.type === 'cluster') return 'cluster topic defaults';
  if (resource.type === 'client') {
    return resource.name === '' ? 'default client quotas' : `quotas of client ${resource.name}`;
  }
  return `topic ${resource.name}`;
}

/** Every problem an INVALID_CONFIG carries (one per bad key), or its message when it has no list. */
function collectProblems(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (err) {
    const e = err as { code?: string; message?: string; metadata?: { problems?: unknown } };
    if (e.code !== 'INVALID_CONFIG') throw err;
    const listed = e.metadata?.problems;
    if (Array.isArray(listed) && listed.every((p): p is string => typeof p === 'string') && listed.length > 0)
      return listed;
    return [e.message ?? String(err)];
  }
}
