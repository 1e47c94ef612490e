/**
 * One real broker process (the built CLI) bound to its own loopback address with its own data dir, behind a
 * TcpProxy that clients use (the broker advertises the proxy, so metadata sends clients through it too) and,
 * in cluster mode, a peer proxy that other brokers use. The client port stays fixed across restarts so
 * reconnecting clients find the broker again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve, sep } from 'node:path';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import { brokerStarted } from './broker-started.js';
import type { TcpProxy } from './tcp-proxy.js';

/** The built CLI, whether this file runs compiled (dist/chaos/harness) or from source under vitest. */
const REPO_ROOT = import.meta.dirname.includes(`${sep}dist${sep}`)
  ? resolve(import.meta.dirname, '../../..')
  : resolve(import.meta.dirname, '../..');
export const BROKER_CLI = resolve(REPO_ROOT, 'dist/cmd/streambus.js');

export interface BrokerNodeOptions {
  id: number;
  host: string;
  dataDir: string;
  logPath: string;
  proxy: TcpProxy;
  /** Cluster mode: the proxy other brokers dial to reach this one's peer listener. */
  peerProxy?: TcpProxy | null;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /** The process ended without kill() / stop(): a crash, or someone else's signal. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export class BrokerNode {
  readonly id: number;
  readonly host: string;
  readonly dataDir: string;
  readonly proxy: TcpProxy;
  readonly peerProxy: TcpProxy | null;
  port = 0;
  httpPort = 0;
  paused = false;
  private child: ChildProcess | null = null;
  private exitExpected = false;
  private exited: Promise<void> = Promise.resolve();
  private readonly log: WriteStream;
  private readonly tail: string[] = [];

  constructor(private readonly o: BrokerNodeOptions) {
    this.id = o.id;
    this.host = o.host;
    this.dataDir = o.dataDir;
    this.proxy = o.proxy;
    this.peerProxy = o.peerProxy ?? null;
    this.log = createWriteStream(o.logPath, { flags: 'a' });
  }

  /** Where the broker's client listener is (its host is also the peer listener's and its peer proxy's). */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** What clients use. */
  get clientAddress(): string {
    return this.proxy.address;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn(
      process.execPath,
      [
        ...BROKER_NODE_FLAGS,
        BROKER_CLI,
        'broker',
        '--data-dir',
        this.dataDir,
        '--listen',
        `${this.host}:${this.port}`,
        '--http-listen',
        `${this.host}:${this.httpPort}`,
      ],
      {
        env: {
          ...process.env,
          // CHAOS_BROKER_LOG_LEVEL=debug keeps e.g. every election message in node-N.log.
          STREAMBUS_LOGGING_LEVEL: process.env.CHAOS_BROKER_LOG_LEVEL ?? 'info',
          STREAMBUS_BROKER_ADVERTISED_LISTEN: this.proxy.address,
          ...this.o.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    this.paused = false;
    this.exitExpected = false;
    this.exited = new Promise((res) =>
      child.once('exit', (code, signal) => {
        if (!this.exitExpected) this.o.onUnexpectedExit?.(code, signal);
        res();
      }),
    );
    const { port, httpPort } = await brokerStarted(child, {
      timeoutMs: this.o.startTimeoutMs ?? 20_000,
      onLine: (line) => this.remember(line),
      failure: (why) => this.failure(why),
    });
    this.port = port;
    this.httpPort = httpPort;
    this.proxy.targetPort = port;
  }

  /** kill -9: no flush, no drain. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null || !this.running) return;
    this.exitExpected = true;
    child.kill('SIGKILL');
    await this.exited;
    this.paused = false;
  }

  pause(): void {
    if (this.running && !this.paused) {
      this.child?.kill('SIGSTOP');
      this.paused = true;
    }
  }

  resume(): void {
    if (this.running && this.paused) {
      this.child?.kill('SIGCONT');
      this.paused = false;
    }
  }

  /** Graceful stop (SIGTERM), escalating to SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (child === null || !this.running) return;
    this.exitExpected = true;
    this.resume();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** From an exit handler: no awaiting. */
  killSync(): void {
    if (this.running) {
      this.exitExpected = true;
      this.child?.kill('SIGCONT');
      this.child?.kill('SIGKILL');
    }
  }

  closeLog(): void {
    this.log.end();
  }

  private remember(line: string): void {
    this.log.write(`${line}\n`);
    this.tail.push(line);
    if (this.tail.length > 50) this.tail.shift();
  }

  private failure(what: string): string {
    return `broker ${this.id} (${this.host}) ${what}:\n${this.tail.join('\n')}`;
  }
}
