/**
 * A broker that cannot start because of its configuration says so with a catalogue code naming the key
 * (docs/errors.md), as the client listener does (INVALID_CONFIG `broker.listen ...`). QA: a taken HTTP port
 * and a data dir that is a file failed the start with bare errnos (`"code":"EADDRINUSE"`, `"code":"ENOTDIR"`).
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { startInProcessBroker } from '../helpers/in-process-broker.js';

const HOST = '127.0.2.43';
const dirs: string[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of dirs.splice(0)) removeDir(dir);
});

/** A port on HOST that something else listens on. */
async function takenPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return (server.address() as { port: number }).port;
}

function scratchDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

/** Broker.start's rejection, as { code, message }. */
async function startFailure(overrides: Record<string, unknown>, dataDir = scratchDir()) {
  const err: unknown = await startInProcessBroker(
    { 'broker.listen': `${HOST}:0`, 'health.http.bind_address': HOST, ...overrides },
    dataDir,
  ).then(
    async (b) => {
      await b.stop();
      return new Error('the broker started');
    },
    (e: unknown) => e,
  );
  expect(isStreamBusError(err)).toBe(true);
  return err as { code: string; message: string };
}

describe('startup failures caused by the configuration', () => {
  it('a taken health port is INVALID_CONFIG naming health.http.port', async () => {
    const port = await takenPort();
    const err = await startFailure({ 'health.http.port': port });
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toMatch(
      new RegExp(`^health\\.http\\.port ${port} \\(health\\.http\\.bind_address ${HOST}\\): .*EADDRINUSE`),
    );
  });

  it('a taken metrics port is INVALID_CONFIG naming metrics.port', async () => {
    const port = await takenPort();
    const err = await startFailure({ 'health.http.port': 0, 'metrics.port': port });
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toMatch(
      new RegExp(`^metrics\\.port ${port} \\(health\\.http\\.bind_address ${HOST}\\): `),
    );
  });

  it('a data dir that is a file, or under one, is INVALID_CONFIG naming broker.data_dir', async () => {
    const file = join(scratchDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    for (const dataDir of [file, join(file, 'data')]) {
      const err = await startFailure({ 'health.http.port': 0 }, dataDir);
      expect(err.code).toBe('INVALID_CONFIG');
      expect(err.message).toMatch(
        /^broker\.data_dir .*not-a-dir.* cannot be used as the data dir: E(NOTDIR|EXIST)/,
      );
    }
  });
});
