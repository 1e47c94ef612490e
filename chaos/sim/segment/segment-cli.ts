/**
 * `npm run sim -- --store segment [--seeds N] [--seed S] [--steps T] [--dir-model journaled|strict]
 *   [--tear-model prefix|sectors] [--verbose] [--quiet]`:
 * runs the segment-log partition-group simulation for seeds S..S+N-1; exits 1 on the first violation,
 * printing the seed and the command that replays it.
 */
import { DEFAULT_SEGMENT_SIM, runSegmentSimulation } from './segment-simulation.js';

export interface SegmentCliArgs {
  seeds: number;
  seed: number;
  steps: number;
  dirModel: 'journaled' | 'strict';
  tearModel: 'prefix' | 'sectors';
  verbose: boolean;
  /** No progress lines: only the summary (and a violation). */
  quiet: boolean;
}

export function parseSegmentArgs(argv: readonly string[]): SegmentCliArgs | string {
  const out: SegmentCliArgs = {
    seeds: 200,
    seed: 1,
    steps: DEFAULT_SEGMENT_SIM.faultSteps,
    dirModel: 'journaled',
    tearModel: 'prefix',
    verbose: false,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const raw = argv[i + 1];
    if (a === '--store') {
      i++;
      continue;
    }
    if (a === '--verbose') {
      out.verbose = true;
      continue;
    }
    if (a === '--quiet') {
      out.quiet = true;
      continue;
    }
    if (a === '--dir-model') {
      if (raw !== 'journaled' && raw !== 'strict') return '--dir-model needs journaled or strict';
      out.dirModel = raw;
      i++;
      continue;
    }
    if (a === '--tear-model') {
      if (raw !== 'prefix' && raw !== 'sectors') return '--tear-model needs prefix or sectors';
      out.tearModel = raw;
      i++;
      continue;
    }
    if (a !== '--seeds' && a !== '--seed' && a !== '--steps' && a !== '--ticks')
      return `unknown argument ${a}`;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 0) return `${a} needs a non-negative integer`;
    if (a === '--seeds') out.seeds = v;
    else if (a === '--seed') out.seed = v;
    else out.steps = v;
    i++;
  }
  return out;
}

/** Returns the process exit code. */
export async function runSegmentCli(argv: readonly string[]): Promise<number> {
  const args = parseSegmentArgs(argv);
  if (typeof args === 'string') {
    console.error(args);
    return 2;
  }
  const started = process.hrtime.bigint();
  let acked = 0;
  let crashes = 0;
  let tornWrites = 0;
  const progressEvery = Math.max(1, Math.floor(args.seeds / 20));
  for (let i = 0; i < args.seeds; i++) {
    const seed = args.seed + i;
    const r = await runSegmentSimulation(seed, {
      faultSteps: args.steps,
      dirModel: args.dirModel,
      tearModel: args.tearModel,
      verbose: args.verbose,
    });
    if (!r.ok) {
      console.error(`VIOLATION seed=${seed} trace=${r.traceHash}: ${r.violation}`);
      console.error(
        `replay: npm run sim -- --store segment --seeds 1 --seed ${seed} --steps ${args.steps} --dir-model ${args.dirModel} --tear-model ${args.tearModel} --verbose`,
      );
      return 1;
    }
    acked += r.stats.acked;
    crashes += r.stats.crashes + r.stats.tornCrashes + r.stats.groupCrashes + r.stats.recoveryCrashes;
    tornWrites += r.stats.tornWrites;
    if (args.seeds === 1) console.log(JSON.stringify(r));
    else if (!args.quiet && (i + 1) % progressEvery === 0) console.log(`${i + 1}/${args.seeds} seeds ok`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    JSON.stringify({
      result: 'ok',
      store: 'segment',
      seeds: args.seeds,
      firstSeed: args.seed,
      stepsPerSeed: args.steps,
      dirModel: args.dirModel,
      tearModel: args.tearModel,
      seconds: Number(seconds.toFixed(1)),
      ackedBatches: acked,
      crashes,
      tornWrites,
    }),
  );
  return 0;
}
