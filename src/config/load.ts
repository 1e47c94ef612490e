import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { StreamBusError } from '../errors/index.js';
import { buildBrokerConfig, readerOf } from './build.js';
import { checkCrossKeys } from './cross-checks.js';
import {
  CONFIG_SCHEMA,
  CONFIG_VERSION_CURRENT,
  type ConfigValue,
  envNameOf,
  SCHEMA_BY_KEY,
  SECTIONS,
} from './schema.js';
import type { BrokerConfig } from './types.js';
import { coerceValue, describe } from './validate.js';

/** `env_file`: a secret read from the file an env var `<ENV_NAME>_FILE` names. */
export type ConfigSource = 'default' | 'file' | 'env' | 'env_file' | 'override';

/** `STREAMBUS_TRACING_OTLP_HEADERS_FILE=/run/secrets/otlp` reads a secret key from a file. */
export const SECRET_FILE_SUFFIX = '_FILE';

export interface LoadConfigOptions {
  /** Path of a YAML config file. */
  readonly file?: string;
  /** YAML text instead of a file (tests, `config validate` on stdin). Ignored when `file` is given. */
  readonly yamlText?: string;
  /** Environment to read `STREAMBUS_*` from; defaults to `process.env`. Pass `{}` for none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Highest-precedence values, e.g. from CLI flags: dotted snake_case keys (`{ 'broker.listen': ':9092' }`)
   * or the nested YAML shape (`{ broker: { listen: ... } }`). `undefined` values are skipped.
   */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** Non-fatal findings, e.g. an unknown `STREAMBUS_*` env var. */
  readonly onWarning?: (message: string) => void;
}

export interface LoadedConfig {
  readonly config: BrokerConfig;
  /** Effective value of every schema key (ms and bytes), for `config print`. */
  readonly values: ReadonlyMap<string, ConfigValue>;
  /** Which layer each effective value came from. */
  readonly sources: ReadonlyMap<string, ConfigSource>;
}

/** STREAMBUS_* variables that belong to other commands (the CLI client), not to the broker config. */
const NON_CONFIG_ENV: ReadonlySet<string> = new Set([
  'STREAMBUS_BOOTSTRAP',
  'STREAMBUS_CONFIG',
  'STREAMBUS_TLS_CA',
  'STREAMBUS_TLS_CERT',
  'STREAMBUS_TLS_KEY',
]);

/**
 * Env names are derived from keys (`storage.flush_policy` -> `STREAMBUS_STORAGE_FLUSH_POLICY`). Underscores
 * inside key names make the reverse mapping ambiguous, so env vars are looked up in this table of known keys
 * instead of being split; the table refuses two keys with the same env name.
 */
export const ENV_TO_KEY: ReadonlyMap<string, string> = (() => {
  const table = new Map<string, string>();
  for (const spec of CONFIG_SCHEMA) {
    for (const name of [envNameOf(spec.key), ...(spec.envAliases ?? [])]) {
      const existing = table.get(name);
      if (existing !== undefined) throw new Error(`env var ${name} maps to both ${existing} and ${spec.key}`);
      table.set(name, spec.key);
    }
  }
  return table;
})();

/** Defaults < YAML file < STREAMBUS_* env < overrides; validated; frozen. Throws INVALID_CONFIG. */
export function loadConfig(options: LoadConfigOptions = {}): BrokerConfig {
  return loadConfigDetailed(options).config;
}

export function loadConfigDetailed(options: LoadConfigOptions = {}): LoadedConfig {
  const problems: string[] = [];
  const raw = new Map<string, { value: unknown; source: ConfigSource; origin: string }>();

  const document = readDocument(options);
  if (document !== undefined) {
    checkVersion(document);
    for (const [key, value] of flatten(document, '', problems))
      raw.set(key, { value, source: 'file', origin: '' });
  }
  const env = options.env ?? process.env;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('STREAMBUS_') || value === undefined) continue;
    const key = ENV_TO_KEY.get(name);
    const secretFile = key === undefined ? secretFromFile(name, value, env, problems) : undefined;
    if (secretFile !== undefined) {
      const { key: secretKey, value: secret, origin } = secretFile;
      if (secret !== undefined) raw.set(secretKey, { value: secret, source: 'env_file', origin });
      continue;
    }
    if (key === undefined) {
      if (!NON_CONFIG_ENV.has(name)) options.onWarning?.(`ignoring unknown env var ${name}${suggest(name)}`);
      continue;
    }
    // `FOO= cmd` is how shells clear a variable: empty is unset for every key, as docs/config.md says, so
    // it neither overrides the file nor shows as an env source in `config print --sources`.
    if (value === '') continue;
    raw.set(key, { value, source: 'env', origin: ` [from env ${name}]` });
  }
  if (options.overrides !== undefined) {
    for (const [key, value] of flatten(options.overrides, '', problems)) {
      if (value !== undefined)
        raw.set(key, { value, source: 'override', origin: ' [from a command-line flag]' });
    }
  }
  if (raw.has('config_version')) checkVersion({ config_version: raw.get('config_version')?.value });

  const values = new Map<string, ConfigValue>();
  const sources = new Map<string, ConfigSource>();
  for (const spec of CONFIG_SCHEMA) {
    const given = raw.get(spec.key);
    if (given === undefined) {
      values.set(spec.key, spec.default);
      sources.set(spec.key, 'default');
      continue;
    }
    if (spec.secret === true && given.source === 'file') {
      options.onWarning?.(
        `${spec.key} is a secret: keep it out of the config file; set ${envNameOf(spec.key)} or ` +
          `${envNameOf(spec.key)}${SECRET_FILE_SUFFIX} (a file holding the value) instead`,
      );
    }
    const coerced = coerceValue(spec, given.value);
    if (coerced.ok) {
      values.set(spec.key, coerced.value);
      sources.set(spec.key, given.source);
    } else {
      problems.push(coerced.problem + given.origin);
      values.set(spec.key, spec.default);
    }
  }
  if (problems.length === 0) problems.push(...checkCrossKeys(values));
  if (problems.length > 0) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'config.load',
      message: problems.join('; '),
      metadata: { problems, file: options.file },
    });
  }
  return { config: buildBrokerConfig(readerOf(values)), values, sources };
}

/**
 * `<ENV_NAME>_FILE` of a secret key: the value is the named file's content, trimmed (a trailing newline is
 * how most tools write files). undefined when `name` is no such variable; `value` undefined when it failed
 * (the problem is recorded) or was empty (unset, as with an empty env var).
 */
function secretFromFile(
  name: string,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): { key: string; value: string | undefined; origin: string } | undefined {
  if (!name.endsWith(SECRET_FILE_SUFFIX)) return undefined;
  const direct = name.slice(0, -SECRET_FILE_SUFFIX.length);
  const key = ENV_TO_KEY.get(direct);
  if (key === undefined || SCHEMA_BY_KEY.get(key)?.secret !== true) return undefined;
  const origin = ` [from the file ${path} named by ${name}]`;
  const none = { key, value: undefined, origin };
  if (path === '') return none;
  if (env[direct] !== undefined && env[direct] !== '') {
    problems.push(`${key}: set either ${direct} or ${name}, not both`);
    return none;
  }
  try {
    return { ...none, value: readFileSync(path, 'utf8').trim() };
  } catch (err) {
    problems.push(
      `${key}: cannot read ${path} named by ${name} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
    return none;
  }
}

function readDocument(options: LoadConfigOptions): Record<string, unknown> | undefined {
  let text = options.yamlText;
  const where = options.file === undefined ? 'config' : `config file ${options.file}`;
  if (options.file !== undefined) {
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'config.load',
        message: `${where}: cannot read (${(err as Error).message})`,
        cause: err,
      });
    }
  }
  if (text === undefined) return undefined;
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'config.load',
      message: `${where}: not valid YAML: ${(err as Error).message}`,
      cause: err,
    });
  }
  if (document === null || document === undefined) return {};
  if (!isMapping(document)) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'config.load',
      message: `${where}: expected a mapping of keys at the top level, got ${describe(document)}`,
    });
  }
  return document;
}

/** Fails fast on a version this broker does not understand, before any key is interpreted. */
function checkVersion(document: Record<string, unknown>): void {
  const version = document.config_version;
  if (version === undefined) return;
  const n = typeof version === 'string' && /^\d+$/.test(version.trim()) ? Number(version) : version;
  if (n === CONFIG_VERSION_CURRENT) return;
  const message =
    typeof n === 'number' && Number.isInteger(n) && n > CONFIG_VERSION_CURRENT
      ? `config_version: ${n} is newer than this broker understands (${CONFIG_VERSION_CURRENT}); ` +
        `upgrade streambus, or rewrite the file for version ${CONFIG_VERSION_CURRENT} and set config_version: ${CONFIG_VERSION_CURRENT}`
      : `config_version: unknown version ${describe(version)}; this broker reads config_version: ${CONFIG_VERSION_CURRENT}`;
  throw new StreamBusError('INVALID_CONFIG', { operation: 'config.load', message, metadata: { version } });
}

/**
 * Nested mapping -> (dotted key, leaf value); unknown keys and misplaced values become problems. Dotted
 * names are accepted at any level too (`{ 'broker.listen': ... }`), which is how CLI overrides are written.
 */
function flatten(
  node: Readonly<Record<string, unknown>>,
  prefix: string,
  problems: string[],
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, value] of Object.entries(node)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (SCHEMA_BY_KEY.has(key)) {
      if (isMapping(value) || Array.isArray(value)) {
        problems.push(`${key}: expected a single value, got ${describe(value)}`);
      } else {
        out.set(key, value);
      }
    } else if (SECTIONS.has(key)) {
      if (value === null) continue; // `storage:` with nothing under it
      if (!isMapping(value)) {
        problems.push(`${key}: expected a mapping of keys, got ${describe(value)}`);
        continue;
      }
      for (const [k, v] of flatten(value, key, problems)) out.set(k, v);
    } else {
      problems.push(`${key}: unknown key${suggest(key)}`);
    }
  }
  return out;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** A cheap did-you-mean: nearest known key by edit distance, or the same leaf name in another section. */
export function suggest(unknown: string): string {
  const asEnv = unknown.startsWith('STREAMBUS_');
  const candidates = asEnv ? [...ENV_TO_KEY.keys()] : [...SCHEMA_BY_KEY.keys(), ...SECTIONS];
  const leaf = unknown.split('.').at(-1) ?? unknown;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const sameLeaf = !asEnv && candidate.split('.').at(-1) === leaf;
    const distance = sameLeaf ? 1 : editDistance(unknown, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(2, Math.floor(unknown.length / 4));
  return best !== undefined && bestDistance <= allowed ? ` (did you mean ${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
