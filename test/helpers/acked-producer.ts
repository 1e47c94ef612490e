/**
 * A producer in its own process (the built SDK, acks=all) that sends the sequence 0, 1, 2, ... as message
 * values and prints each sequence number to stdout once the broker has acknowledged it. Durability tests
 * kill the broker under it and then check every printed number survived.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Connection } from '../../src/client/connection.js';
import { ApiKey, LATEST_TIMESTAMP } from '../../src/protocol/index.js';
import { decodeRecords, splitBatches } from '../../src/protocol/record-batch.js';

export const SDK_ENTRY = resolve(import.meta.dirname, '../../dist/src/index.js');

export function requireDist(): void {
  if (!existsSync(SDK_ENTRY)) {
    throw new Error(`${SDK_ENTRY} is missing: run \`npm run build\` first (npm test does)`);
  }
}

const SCRIPT = `
import { createClient } from ${JSON.stringify(pathToFileURL(SDK_ENTRY).href)};
const topic = process.env.SB_TOPIC;
const client = createClient({ bootstrap: process.env.SB_BOOTSTRAP, clientId: 'acked-producer' });
const producer = client.producer({ acks: -1, lingerMs: 2 });
const OUTSTANDING_MAX = 500;
let outstanding = 0;
let failed = false;
let wake = null;
for (let i = 0; !failed; i++) {
  while (outstanding >= OUTSTANDING_MAX) await new Promise((r) => { wake = r; });
  outstanding++;
  producer.send({ topic, messages: [{ value: String(i) }] }).then(
    () => { process.stdout.write(i + '\\n'); },
    (err) => { failed = true; process.stderr.write('send failed: ' + (err && err.code) + '\\n'); },
  ).finally(() => { outstanding--; const w = wake; wake = null; if (w) w(); });
}
`;

export interface AckedProducer {
  child: ChildProcess;
  /** Sequence numbers acknowledged so far. */
  acked: Set<number>;
  /** Resolves once at least `n` have been acknowledged (rejects if the producer exits first). */
  waitForAcks(n: number, timeoutMs?: number): Promise<void>;
  /** SIGKILL and wait for stdout to end, so every ack printed is counted. */
  kill(): Promise<void>;
  stderr: string[];
}

export function startAckedProducer(bootstrap: string, topic: string): AckedProducer {
  requireDist();
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    env: { ...process.env, SB_BOOTSTRAP: bootstrap, SB_TOPIC: topic },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = new Set<number>();
  const stderr: string[] = [];
  let partial = '';
  let listeners: (() => void)[] = [];
  const notify = (): void => {
    for (const l of listeners) l();
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line !== '') acked.add(Number(line));
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const stdoutEnded = new Promise<void>((res) => child.stdout!.once('close', () => res()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  void exited.then(notify);
  return {
    child,
    acked,
    stderr,
    waitForAcks(n, timeoutMs = 30_000) {
      return new Promise<void>((res, rej) => {
        const timer = setTimeout(() => {
          listeners = listeners.filter((l) => l !== check);
          rej(new Error(`only ${acked.size} acks after ${timeoutMs} ms; stderr: ${stderr.join('')}`));
        }, timeoutMs);
        const check = (): void => {
          if (acked.size >= n) {
            clearTimeout(timer);
            listeners = listeners.filter((l) => l !== check);
            res();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            listeners = listeners.filter((l) => l !== check);
            rej(new Error(`producer exited after ${acked.size} acks; stderr: ${stderr.join('')}`));
          }
        };
        listeners.push(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await stdoutEnded;
      if (partial !== '') acked.add(Number(partial));
      partial = '';
    },
  };
}

export interface ReadRecord {
  offset: number;
  value: string;
}

/** Reads every record of every partition from offset 0 to the high watermark, through raw fetches. */
export async function readAllPartitions(
  host: string,
  port: number,
  topic: string,
  partitions: number,
): Promise<ReadRecord[][]> {
  const conn = await Connection.connect({ host, port, clientId: 'read-all' });
  try {
    const out: ReadRecord[][] = [];
    for (let partition = 0; partition < partitions; partition++) {
      const hwRes = await conn.request(ApiKey.ListOffsets, {
        partitions: [{ topic, partition, timestamp: LATEST_TIMESTAMP }],
      });
      const hw = hwRes.partitions[0]!.offset;
      const records: ReadRecord[] = [];
      let next = 0;
      while (next < hw) {
        const res = await conn.request(ApiKey.Fetch, {
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 4 << 20,
          partitions: [{ topic, partition, fetchOffset: next, partitionMaxBytes: 4 << 20 }],
        });
        const p = res.partitions[0]!;
        if (p.error !== null) throw new Error(`fetch ${topic}-${partition}@${next}: ${p.error.message}`);
        let progressed = false;
        for (const batch of splitBatches(p.records)) {
          for (const r of decodeRecords(batch)) {
            if (r.offset < next) continue;
            records.push({ offset: r.offset, value: r.value?.toString() ?? '' });
            next = r.offset + 1;
            progressed = true;
          }
        }
        if (!progressed) throw new Error(`fetch ${topic}-${partition}@${next} made no progress (hw ${hw})`);
      }
      out.push(records);
    }
    return out;
  } finally {
    await conn.close();
  }
}
