import type { Command } from 'commander';

interface PrintOptions {
  config?: string;
  sources?: boolean;
}

/**
 * `streambus config validate FILE` and `streambus config print`: check a file without starting a broker,
 * and show the effective config (defaults < file < STREAMBUS_* env) with secret keys masked.
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
      const problems = collectProblems(() => loadConfigDetailed({ file, env: {} }));
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
