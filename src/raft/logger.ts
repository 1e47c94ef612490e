/** The logging surface the Raft driver and transport use: pino-compatible, so a pino child fits as is. */
export interface RaftLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

const noop = (): void => {};

export const silentLogger: RaftLogger = { debug: noop, info: noop, warn: noop, error: noop };
