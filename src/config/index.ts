export { buildBrokerConfig } from './build.js';
export { advertisedListen, type BrokerFlags, brokerFlagOverrides } from './cli.js';
export { renderConfigDocs } from './docs.js';
export {
  type ConfigSource,
  ENV_TO_KEY,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  loadConfigDetailed,
} from './load.js';
export { type OpsListener, opsListeners } from './ops-listeners.js';
export { renderEffectiveConfig } from './print.js';
export {
  CONFIG_SCHEMA,
  CONFIG_VERSION_CURRENT,
  type ConfigValue,
  envNameOf,
  type KeySpec,
} from './schema.js';
export type { BrokerConfig, FlushPolicy, LogFormat, LogLevel, TracingExporter } from './types.js';
export { formatDurationMs, formatSizeBytes, parseDurationMs, parseSizeBytes } from './units.js';
export { parseHostPort } from './validate.js';
