/**
 * The chaos CLI: `node dist/chaos/run.js --scenario NAME --duration SECONDS --seed S`. Prints the seed, the
 * plan, a summary per scenario and a table at the end; exits 1 on any safety anomaly or failed run.
 */
import { Command } from 'commander';
import { checkHistory } from './checker/check.js';
import { formatReport, formatSummaryTable, type ScenarioRow } from './checker/format.js';
import { readHistory } from './harness/history.js';
import { type RunResult, runScenario } from './harness/runner.js';
import { ALL_SCENARIOS, SCENARIOS } from './harness/scenarios.js';

const program = new Command()
  .name('chaos')
  .description('Jepsen-style fault injection against real StreamBus brokers')
  .option('--scenario <name>', `${Object.keys(SCENARIOS).join(' | ')} | all`, 'mixed')
  .option('--duration <seconds>', 'seconds of workload per scenario', '60')
  .option('--seed <n>', 'plan seed (default: random, printed)')
  .option('--results <dir>', 'where history and reports go', 'chaos-results')
  .option(
    '--brokers <n>',
    'broker processes; above 1 they form one replicated cluster (default: 3 for cluster-* scenarios, else 1)',
  )
  .option('--host-prefix <a.b.c>', 'brokers bind <a.b.c>.1, .2, ... (default 127.0.1)')
  .option('--partitions <n>', 'topic partitions (default 4; cluster-leader-kill: 6)')
  .option(
    '--producers <n>',
    'producers, each writing one partition (default 4; cluster-leader-kill: one per partition)',
  )
  .option('--rate <n>', 'messages per second per producer', '100')
  .option('--check <histories...>', 're-check recorded history.jsonl files instead of running')
  .option('--in-flight <n>', 'outstanding sends per producer (1: strictly one at a time)', '16')
  .parse();

const opts = program.opts<{
  scenario: string;
  duration: string;
  seed?: string;
  results: string;
  brokers?: string;
  hostPrefix?: string;
  partitions?: string;
  producers?: string;
  rate: string;
  inFlight: string;
  check?: string[];
}>();

if (opts.check !== undefined) {
  const rows: ScenarioRow[] = [];
  for (const file of opts.check) {
    const events = readHistory(file);
    const report = checkHistory(events);
    const run = events.find((e) => e.type === 'run');
    const firstSend = events.find((e) => e.type === 'send')?.t ?? 0;
    const stop = events.find((e) => e.type === 'phase' && e.name === 'workload-stop')?.t ?? firstSend;
    const scenario = run?.type === 'run' ? `${run.scenario} (seed ${run.seed})` : file;
    console.log(`== ${file}\n${formatReport(report)}\n`);
    rows.push({
      scenario,
      durationS: Math.round((stop - firstSend) / 1000),
      status: report.ok ? 'PASS' : 'FAIL',
      report,
    });
  }
  console.log(formatSummaryTable(rows));
  process.exit(rows.every((r) => r.status === 'PASS') ? 0 : 1);
}

const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(opts.seed);
const scenarios = opts.scenario === 'all' ? ALL_SCENARIOS : [opts.scenario];
const durationS = Number(opts.duration);
console.log(`seed ${seed}, in-flight ${opts.inFlight} per producer`);

const rows: ScenarioRow[] = [];
const results: RunResult[] = [];
for (const scenario of scenarios) {
  const result = await runScenario({
    scenario,
    durationS,
    seed,
    resultsDir: opts.results,
    ...(opts.brokers === undefined ? {} : { brokers: Number(opts.brokers) }),
    ...(opts.hostPrefix === undefined ? {} : { hostPrefix: opts.hostPrefix }),
    ...(opts.partitions === undefined ? {} : { partitions: Number(opts.partitions) }),
    ...(opts.producers === undefined ? {} : { producers: Number(opts.producers) }),
    ratePerSec: Number(opts.rate),
    inFlightMax: Number(opts.inFlight),
    log: (m) => console.log(`[${scenario}] ${m}`),
  });
  results.push(result);
  if (result.report !== null)
    console.log(`\n== ${scenario} (seed ${seed}) ==\n${formatReport(result.report)}\n`);
  const skipReason = result.skipped.map((s) => `${s.nemesis}: ${s.reason}`).join('; ');
  rows.push({
    scenario,
    durationS,
    status: result.status === 'skipped' ? `SKIPPED (${skipReason})` : result.status.toUpperCase(),
    report: result.report,
  });
}
console.log(`\nseed ${seed}\n${formatSummaryTable(rows)}`);
const bad = results.filter((r) => r.status === 'fail' || r.status === 'error');
process.exitCode = bad.length > 0 ? 1 : 0;
