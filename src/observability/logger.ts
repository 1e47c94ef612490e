import { type DestinationStream, type Logger, type LoggerOptions as PinoOptions, pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from '../config/types.js';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** 'stdout', 'stderr' or a file path (appended to, directories created). */
  readonly output?: string;
  /** Fields on every line, e.g. `{ node_id: 1, broker_id: 1 }`. */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Tests: write here instead of `output` (format is then always JSON). */
  readonly destination?: DestinationStream;
  /** Colour console output; defaults to whether the output is a TTY. */
  readonly colorize?: boolean;
}

/**
 * Secrets never reach a log line, however they are nested one or two levels down. `error` carries a
 * StreamBusError's metadata, so it is covered too. Secret config keys (`secret: true` in the schema) are
 * here under their config name and their BrokerConfig name; test/observability checks every one is.
 */
export const REDACT_PATHS: readonly string[] = [
  'password',
  'secret',
  'token',
  'authorization',
  'api_key',
  'otlp_headers',
  'otlpHeaders',
].flatMap((name) => [name, `*.${name}`, `*.*.${name}`]);

/**
 * pino with the spec's field names: `component` on child loggers, `operation`, `duration_ms` and `error` on
 * operation logs. Writes synchronously: StreamBus logs key events only, never a line per message, so the
 * simplicity (no lost lines on a crash, no worker thread or handle to close) costs nothing measurable.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: PinoOptions = {
    level: options.level ?? 'info',
    base: { ...(options.base ?? {}) },
    errorKey: 'error',
    serializers: { error: pino.stdSerializers.err },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (options.destination !== undefined) return pino(pinoOptions, options.destination);
  const output = options.output ?? 'stdout';
  const dest = output === 'stdout' ? 1 : output === 'stderr' ? 2 : output;
  if (options.format === 'console') {
    const isTty = typeof dest === 'number' && (dest === 1 ? process.stdout.isTTY : process.stderr.isTTY);
    return pino(
      pinoOptions,
      pretty({
        destination: dest,
        sync: true,
        mkdir: typeof dest === 'string',
        append: true,
        colorize: options.colorize ?? isTty === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(
    pinoOptions,
    pino.destination({ dest, sync: true, mkdir: typeof dest === 'string', append: true }),
  );
}

/** A logger that drops everything, for tests and benchmarks of the hot path. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The logger a module gets: a child with `component` set. */
export function componentLogger(
  parent: Logger,
  component: string,
  fields: Record<string, unknown> = {},
): Logger {
  return parent.child({ component, ...fields });
}
