import { runSegmentCli } from './segment/segment-cli.js';
import { runSimulation } from './simulation.js';

/**
 * `npm run sim -- --seeds N --seed S [--ticks T]`: runs seeds S..S+N-1, prints progress and a summary,
 * exits 1 on the first violation (printing the seed and the command that replays it).
 */
function parseArgs(argv: readonly string[]): { seeds: number; seed: number; ticks: number; quiet: boolean } {
  const out = { seeds: 1000, seed: 1, ticks: 120, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = Number(argv[i + 1]);
    if (a === '--seeds') out.seeds = v;
    else if (a === '--seed') out.seed = v;
    else if (a === '--ticks') out.ticks = v;
    else if (a === '--quiet') {
      out.quiet = true;
      continue;
    } else if (a === '--help') {
      console.log('usage: sim [--store memory|segment] [--seeds N] [--seed S] [--ticks T] [--quiet]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
    if (!Number.isInteger(v) || v < 0) {
      console.error(`${a} needs a non-negative integer`);
      process.exit(2);
    }
    i++;
  }
  return out;
}

// `--store segment`: partition groups over the segment-log store (segment/segment-cli.ts).
const storeAt = process.argv.indexOf('--store');
const store = storeAt >= 0 ? process.argv[storeAt + 1] : 'memory';
if (store === 'segment') process.exit(await runSegmentCli(process.argv.slice(2)));
if (store !== 'memory') {
  console.error('--store needs memory or segment');
  process.exit(2);
}
const args = parseArgs(
  process.argv.slice(2).filter((_, i, a) => a[i - 1] !== '--store' && a[i] !== '--store'),
);
const started = process.hrtime.bigint();
let acked = 0;
let messages = 0;
let crashes = 0;
let maxConverge = 0;
const progressEvery = Math.max(1, Math.floor(args.seeds / 20));
for (let i = 0; i < args.seeds; i++) {
  const seed = args.seed + i;
  const r = runSimulation(seed, { faultTicks: args.ticks });
  if (!r.ok) {
    console.error(`VIOLATION seed=${seed} trace=${r.traceHash}: ${r.violation}`);
    console.error(`replay: npm run sim -- --seeds 1 --seed ${seed} --ticks ${args.ticks}`);
    process.exit(1);
  }
  acked += r.stats.acked;
  messages += r.stats.messages;
  crashes += r.stats.crashes;
  maxConverge = Math.max(maxConverge, r.stats.convergedAfterTicks);
  if (args.seeds === 1) console.log(JSON.stringify(r));
  else if (!args.quiet && (i + 1) % progressEvery === 0) console.log(`${i + 1}/${args.seeds} seeds ok`);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  JSON.stringify({
    result: 'ok',
    seeds: args.seeds,
    firstSeed: args.seed,
    ticksPerSeed: args.ticks,
    seconds: Number(seconds.toFixed(1)),
    seedsPerSecond: Number((args.seeds / seconds).toFixed(1)),
    ackedProposals: acked,
    messages,
    crashes,
    maxConvergeTicks: maxConverge,
  }),
);
