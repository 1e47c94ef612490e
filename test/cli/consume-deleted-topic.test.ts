/**
 * `streambus consume` while its topic is deleted (QA: it exited 1 with "UNKNOWN_TOPIC_OR_PARTITION: unknown
 * topic or partition del2/0", with --group too). Alone it stops, saying the topic was deleted; as a group
 * member it keeps waiting, as Kafka's console consumer does (the group rebalances without the topic), and a
 * signal still ends it cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireDist } from '../helpers/acked-producer.js';
import { CLI } from '../helpers/broker-process.js';
import { perTestBroker } from '../helpers/in-process-broker.js';
import { waitFor } from '../helpers/wait-for.js';

const BROKER = {
  'broker.listen': '127.0.2.1:0',
  'health.http.bind_address': '127.0.2.1',
  'groups.initial_rebalance_delay': 100,
  'groups.offsets_partitions': 1,
};

const env = perTestBroker();
const children: ChildProcess[] = [];

beforeAll(() => requireDist());
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function consume(args: string[]) {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  delete environment.STREAMBUS_BOOTSTRAP;
  const child = spawn(process.execPath, [CLI, 'consume', ...args], {
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

/** A broker with a 2-partition topic holding one message, and a client to it. */
async function topicWithMessage(name: string) {
  const broker = await env.start(BROKER);
  const client = env.client();
  await client.admin().createTopic({ name, partitions: 2 });
  const producer = client.producer({ lingerMs: 0 });
  await producer.send({ topic: name, messages: [{ value: 'first', partition: 0 }] });
  await producer.close();
  return { bootstrap: broker.bootstrap, admin: client.admin() };
}

describe('consume while its topic is deleted', () => {
  it('without --group: stops, saying the topic was deleted (exit 1, no stack)', async () => {
    const { bootstrap, admin } = await topicWithMessage('del2');
    const run = consume(['del2', '--from-beginning', '--bootstrap', bootstrap]);
    await waitFor('the message printed', () => run.stdout.includes('first'), 20_000);
    await admin.deleteTopic('del2');
    expect(await run.exited).toBe(1);
    expect(run.stderr).toEqual(['1 message(s) consumed', 'streambus: topic del2 was deleted']);
  });

  it('with --group: keeps waiting while the group rebalances without the topic; a signal ends it cleanly', async () => {
    const { bootstrap, admin } = await topicWithMessage('gdel');
    const run = consume(['gdel', '--group', 'gdel2', '--from-beginning', '--bootstrap', bootstrap]);
    await waitFor('the message printed', () => run.stdout.includes('first'), 20_000);
    const groups = admin.groups();
    // Its commit follows the print: deleting the topic before it lands fails the commit, rightly (and the
    // command says so), which is not what this test is about.
    const committedBy = Date.now() + 20_000;
    while (
      !(await groups.describeGroup('gdel2')).offsets.some((o) => o.topic === 'gdel' && o.committed >= 1)
    ) {
      if (Date.now() > committedBy) throw new Error('the printed message was never committed');
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.deleteTopic('gdel');
    // The group rebalanced without the topic: its one member owns nothing.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const view = await groups.describeGroup('gdel2');
      if (view.state === 'Stable' && view.members.length === 1 && view.members[0]!.partitions.length === 0)
        break;
      if (Date.now() > deadline) throw new Error(`the group did not rebalance: ${JSON.stringify(view)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stderr.join('\n')).not.toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('with --group, a signal right after the delete: the last commit finds the topic gone and does not warn of redelivery', async () => {
    const { bootstrap, admin } = await topicWithMessage('gdel3');
    const run = consume(['gdel3', '--group', 'gdel3', '--from-beginning', '--bootstrap', bootstrap]);
    await waitFor('the message printed', () => run.stdout.includes('first'), 20_000);
    await admin.deleteTopic('gdel3');
    // Before the group has rebalanced without the topic: the member still holds its partitions, and its last
    // commit on the way out is refused as for an unknown topic.
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const stderr = run.stderr.join('\n');
    console.log(`consume-deleted-topic: stderr after the signal: ${JSON.stringify(run.stderr)}`);
    expect(stderr).not.toContain('may be delivered again');
    expect(stderr).not.toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });
});
