import { StreamBusError } from '../errors/index.js';

/**
 * A request at `newest`, or at the next older version each time a broker answers UNSUPPORTED_VERSION (its
 * build predates that version): a rolling upgrade is when `cluster status` and `topic describe` are asked
 * of old and new brokers alike, and a build that has v1 but not v2 still answers with what v1 carries.
 */
export async function atNewestVersion<T>(
  newest: number,
  send: (apiVersion: number) => Promise<T>,
): Promise<T> {
  for (let version = newest; ; version--) {
    try {
      return await send(version);
    } catch (err) {
      if (version === 0 || !(err instanceof StreamBusError && err.code === 'UNSUPPORTED_VERSION')) throw err;
    }
  }
}
