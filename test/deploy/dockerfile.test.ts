/**
 * The Dockerfile, without a Docker engine: it lints clean (dockerfile-utils, the VS Code Docker
 * validator), has the shape issue 8 asks for (multi-stage, non-root runtime, HEALTHCHECK on
 * /health/live, ports, volume, exec-form ENTRYPOINT), the build stage copies everything the build
 * needs, the runtime stage needs no dev dependency, and the runtime stage's ENTRYPOINT + CMD + ENV,
 * run here against the built dist/, start a broker that passes the image's own HEALTHCHECK command and
 * exits 0 on SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import { loadConfig } from '../../src/config/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { runBrokerCommand } from './broker-command.js';
import { REPO } from './manifests.js';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly name: string;
  readonly instructions: Instruction[];
}

const dockerfileText = readFileSync(join(REPO, 'Dockerfile'), 'utf8');

/** Instructions with continuation lines joined and comments dropped, grouped by FROM. */
function parseDockerfile(text: string): { preamble: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const space = full.search(/\s/);
    instructions.push({
      keyword: full.slice(0, space).toUpperCase(),
      args: full.slice(space + 1).trim(),
      line: startLine,
    });
  });
  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      stages.push({
        name: /\bAS\s+(\S+)$/i.exec(ins.args)?.[1] ?? String(stages.length),
        instructions: [ins],
      });
    } else if (stages.length === 0) preamble.push(ins);
    else stages[stages.length - 1]?.instructions.push(ins);
  }
  return { preamble, stages };
}

const { stages } = parseDockerfile(dockerfileText);
const runtime = stages[stages.length - 1] as Stage;
const build = stages[0] as Stage;

function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function last(stage: Stage, keyword: string): Instruction {
  const found = all(stage, keyword);
  const ins = found[found.length - 1];
  if (ins === undefined) throw new Error(`stage ${stage.name} has no ${keyword}`);
  return ins;
}

/** The JSON array of an exec-form instruction; throws for the shell form. */
function execForm(args: string): string[] {
  const json = /(\[.*\])\s*$/.exec(args)?.[1];
  if (json === undefined) throw new Error(`not exec form: ${args}`);
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`bad exec form: ${args}`);
  return parsed;
}

/** ENV KEY=VALUE pairs of a stage (values unquoted; our file does not use the legacy `ENV KEY VALUE`). */
function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of all(stage, 'ENV')) {
    for (const m of ins.args.matchAll(/(\w+)=("([^"]*)"|\S+)/g)) env[m[1] ?? ''] = m[3] ?? m[2] ?? '';
  }
  return env;
}

describe('Dockerfile lint and shape', () => {
  test('dockerfile-utils reports no problem', () => {
    expect(validate(dockerfileText).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  test('the linter is not vacuous: it flags a broken Dockerfile', () => {
    expect(
      validate('FROM node AS a\nHEALTHCHECK --interva=1s CMD true\nCMD ["a"]\nCMD ["b"]\n').length,
    ).toBeGreaterThan(1);
  });

  test('is multi-stage: npm ci and the build happen in the first stage, the runtime copies their output', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const buildRuns = all(build, 'RUN')
      .map((r) => r.args)
      .join('\n');
    expect(buildRuns).toMatch(/npm ci\b/);
    expect(buildRuns).toMatch(/npm run build/);
    expect(buildRuns).toMatch(/npm prune --omit=dev|npm ci [^\n]*--omit=dev/);
    expect(
      all(runtime, 'RUN')
        .map((r) => r.args)
        .join('\n'),
    ).not.toMatch(/npm (ci|install)/);
    const copies = all(runtime, 'COPY').map((c) => c.args);
    for (const path of ['/app/package.json', '/app/node_modules', '/app/dist']) {
      expect(
        copies.some((c) => c.startsWith(`--from=${build.name}`) && c.includes(path)),
        path,
      ).toBe(true);
    }
  });

  test('the build stage copies every source tree tsconfig.json compiles', () => {
    const tsconfig = JSON.parse(readFileSync(join(REPO, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const copied = all(build, 'COPY').flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    for (const dir of tsconfig.include) expect(copied, `tsconfig include ${dir}`).toContain(dir);
    for (const src of copied) expect(existsSync(join(REPO, src)), src).toBe(true);
  });

  test('the runtime stage runs as a non-root user, declares ports, a data volume and a liveness HEALTHCHECK', () => {
    expect(last(runtime, 'USER').args).not.toMatch(/^(root|0)(:|$)/);
    const env = stageEnv(runtime);
    const config = loadConfig({ env });
    expect(execForm(last(runtime, 'VOLUME').args)).toEqual([config.broker.dataDir]);
    const ports = last(runtime, 'EXPOSE').args.split(/\s+/).map(Number);
    for (const port of [9092, 9093, config.health.http.port]) expect(ports).toContain(port);
    const healthcheck = last(runtime, 'HEALTHCHECK').args;
    expect(healthcheck).toContain('/health/live');
    expect(execForm(healthcheck)[0]).toBe('node');
  });

  test('ENTRYPOINT is exec form starting node directly, so SIGTERM reaches the broker', () => {
    const entrypoint = execForm(last(runtime, 'ENTRYPOINT').args);
    expect(entrypoint[0]).toBe('node');
    expect(entrypoint.slice(1)).toEqual([...BROKER_NODE_FLAGS, 'dist/cmd/streambus.js']);
    expect(execForm(last(runtime, 'CMD').args)).toEqual(['broker']);
    const stop = all(runtime, 'STOPSIGNAL');
    if (stop.length > 0) expect(last(runtime, 'STOPSIGNAL').args).toBe('SIGTERM');
  });
});

describe('the runtime stage needs only production dependencies', () => {
  test('every package the compiled broker imports is installed by `npm ci --omit=dev`', () => {
    requireDist();
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? files(p) : p.endsWith('.js') ? [p] : [];
      });
    const imported = new Set<string>();
    for (const file of [...files(join(REPO, 'dist', 'src')), ...files(join(REPO, 'dist', 'cmd'))]) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        /(?:\bfrom\s+|\bimport\s*\(\s*)'((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.:-]*(?:\/[\w./-]*)?)'/g,
      )) {
        const spec = m[1] ?? '';
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const parts = spec.split('/');
        imported.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec));
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    for (const pkg of imported) {
      const entry = lock.packages[`node_modules/${pkg}`];
      expect(entry, `${pkg} is not in package-lock.json`).toBeDefined();
      expect(entry?.dev, `${pkg} is a dev-only package: the runtime image would not have it`).not.toBe(true);
    }
  });
});

describe("the runtime stage's command, run here", () => {
  let dataDir = '';
  beforeAll(() => {
    requireDist();
    dataDir = tempDir('streambus-docker-');
  });
  afterAll(() => removeDir(dataDir));

  function healthcheck(env: NodeJS.ProcessEnv): number | null {
    const [file = '', ...args] = execForm(last(runtime, 'HEALTHCHECK').args);
    const binary = file === 'node' ? process.execPath : file;
    return spawnSync(binary, args, { env, cwd: REPO, timeout: 10_000 }).status;
  }

  test('ENTRYPOINT + CMD with the stage ENV serve /health/live, pass the HEALTHCHECK and drain on SIGTERM', async () => {
    expect(last(runtime, 'WORKDIR').args).toBe('/app'); // mapped to this checkout, which has dist/ and node_modules/
    const argv = [...execForm(last(runtime, 'ENTRYPOINT').args), ...execForm(last(runtime, 'CMD').args)].map(
      (a) => (a === 'node' ? process.execPath : a),
    );
    // The image's environment, with the data dir and listeners moved to a temp dir and loopback ports.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...stageEnv(runtime),
      STREAMBUS_BROKER_DATA_DIR: dataDir,
      STREAMBUS_BROKER_LISTEN: '127.0.0.1:0',
      STREAMBUS_HEALTH_HTTP_BIND_ADDRESS: '127.0.0.1',
      STREAMBUS_HEALTH_HTTP_PORT: '0',
    };
    const broker = await runBrokerCommand(argv, { cwd: REPO, env });
    const probeEnv = { ...env, STREAMBUS_HEALTH_HTTP_PORT: String(broker.httpPort) };
    try {
      const live = await fetch(`http://127.0.0.1:${broker.httpPort}/health/live`);
      expect(live.status).toBe(200);
      expect(healthcheck(probeEnv)).toBe(0);
    } finally {
      const { code } = await broker.stop('SIGTERM');
      expect(code, broker.logs.join('\n')).toBe(0);
    }
    // And the HEALTHCHECK fails once nothing answers.
    expect(healthcheck(probeEnv)).toBe(1);
  });
});
