/**
 * A consumer-group member in its own process, on the built SDK (not the CLI), that reports what a test
 * needs to check a group's guarantees: every message it was given (partition, offset, value) and every
 * assignment change (with the generation), one line each on stdout. It commits either the SDK's way
 * (`auto`: autoCommit, on its interval, on revocation and on close) or after each poll (`explicit`, what
 * the CLI does). SIGTERM closes the consumer (commit, then leave the group); SIGKILL leaves it silent, so
 * the group must time its session out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { requireDist, SDK_ENTRY } from './acked-producer.js';

export type CommitMode = 'auto' | 'explicit';

/** A message this member was given. */
export interface ConsumedRecord {
  partition: number;
  offset: number;
  value: string;
}

/** The member's whole assignment after a rebalance, with the generation it belongs to. */
export interface AssignmentChange {
  atMs: number;
  generation: number;
  partitions: number[];
}

export interface SdkGroupMember {
  name: string;
  child: ChildProcess;
  /** In the order the member was given them; `line` indexes into `lines` to place assignment changes. */
  records: (ConsumedRecord & { line: number })[];
  assignments: (AssignmentChange & { line: number })[];
  stderr: string[];
  /** SIGTERM: commit, leave the group, exit. Resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no commit, no leave. */
  kill(): Promise<void>;
}

// Lines: `m <partition> <offset> <value>` per message, `a <ms> <generation> <p,p,...>` per assignment
// (the generation read from the consumer's private group field: the SDK does not export it).
const SCRIPT = `
import { createClient } from ${JSON.stringify(pathToFileURL(SDK_ENTRY).href)};
const env = process.env;
const session = Number(env.SB_SESSION_MS);
const auto = env.SB_COMMIT === 'auto';
const client = createClient({ bootstrap: env.SB_BOOTSTRAP, clientId: env.SB_NAME });
const consumer = client.consumer({
  autoOffsetReset: 'earliest',
  group: {
    groupId: env.SB_GROUP,
    sessionTimeoutMs: session,
    heartbeatIntervalMs: Math.floor(session / 3),
    autoCommit: auto,
    autoCommitIntervalMs: 1000,
  },
});
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
let shown = '';
const workMs = Number(env.SB_WORK_MS ?? 0);
let gapMaxMs = 0;
let polledAt = 0;
const out = (text) => new Promise((r) => (process.stdout.write(text) ? r() : process.stdout.once('drain', r)));
consumer.subscribe([env.SB_TOPIC]);
try {
  while (!stop.signal.aborted) {
    if (polledAt > 0) gapMaxMs = Math.max(gapMaxMs, Date.now() - polledAt);
    const messages = await consumer.poll({ signal: stop.signal });
    polledAt = Date.now();
    const now = consumer.assignment().map((tp) => tp.partition).sort((x, y) => x - y).join(',');
    let text = '';
    if (now !== shown) {
      shown = now;
      text += 'a ' + Date.now() + ' ' + (consumer.group?.generation ?? -1) + ' ' + now + '\\n';
    }
    const next = new Map();
    for (const m of messages) {
      text += 'm ' + m.partition + ' ' + m.offset + ' ' + (m.value?.toString() ?? '') + '\\n';
      next.set(m.partition, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
    }
    if (text !== '') await out(text);
    // Handling the messages takes this long (an application's work between polls).
    if (workMs > 0 && messages.length > 0) {
      await new Promise((r) => {
        const timer = setTimeout(r, workMs);
        stop.signal.addEventListener('abort', () => r(clearTimeout(timer)), { once: true });
      });
    }
    if (!auto && next.size > 0) {
      await consumer.commit([...next.values()]).catch((err) => {
        process.stderr.write('commit failed: ' + (err?.code ?? err) + '\\n');
        if (err?.category === 'fatal') throw err;
      });
    }
  }
} catch (err) {
  process.stderr.write('member error: ' + (err?.code ?? '') + ' ' + (err?.message ?? err) + '\\n');
  process.exitCode = 1;
} finally {
  await client.close();
  process.stderr.write('stats: longest gap between polls ' + gapMaxMs + ' ms\\n');
}
`;

export function startSdkGroupMember(options: {
  name: string;
  bootstrap: string;
  topic: string;
  group: string;
  sessionTimeoutMs: number;
  commit: CommitMode;
  /** How long the member works on each poll's messages before it polls again. */
  workMs?: number;
}): SdkGroupMember {
  requireDist();
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    env: {
      ...process.env,
      SB_NAME: options.name,
      SB_BOOTSTRAP: options.bootstrap,
      SB_TOPIC: options.topic,
      SB_GROUP: options.group,
      SB_SESSION_MS: String(options.sessionTimeoutMs),
      SB_COMMIT: options.commit,
      SB_WORK_MS: String(options.workMs ?? 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const member: SdkGroupMember = {
    name: options.name,
    child,
    records: [],
    assignments: [],
    stderr: [],
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await closed;
      return child.exitCode;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await closed;
    },
  };
  let line = 0;
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const [kind, a, b, ...rest] = l.split(' ');
      if (kind === 'm') {
        member.records.push({ partition: Number(a), offset: Number(b), value: rest.join(' '), line: line++ });
      } else if (kind === 'a') {
        const partitions = rest[0] ? rest[0].split(',').map(Number) : [];
        member.assignments.push({ atMs: Number(a), generation: Number(b), partitions, line: line++ });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) =>
    member.stderr.push(...chunk.toString().split('\n').filter(Boolean)),
  );
  // A partial last line is dropped: a message counts once the member wrote all of it.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return member;
}
