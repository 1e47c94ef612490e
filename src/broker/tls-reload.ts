/**
 * Renewed certificates without a restart: every broker.tls.reload_interval the broker's TLS files are looked
 * at (size and modification time, no read); when one changed they are read and checked as at start, and new
 * connections use them: the client listener's (and this broker's health probes), and the peer link's, both
 * the connections it accepts and those it dials (cluster.peer_tls). Connections already open keep the
 * certificate they were made with, as TLS does. Files that do not load (a half-written renewal, a key that
 * is not the certificate's) are logged and the current ones kept; the next change is tried again.
 */
import { statSync } from 'node:fs';
import type { BrokerConfig, ServerTlsConfig } from '../config/types.js';
import type { Logger } from '../observability/index.js';
import { type BrokerTls, loadBrokerTls } from './broker-tls.js';

/** Size and modification time of each file: what tells a rewritten file without reading it. */
function fingerprint(tls: ServerTlsConfig): string {
  return [tls.certFile, tls.keyFile, tls.caFile]
    .map((path) => {
      if (path === null) return '-';
      try {
        const st = statSync(path);
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * Starts watching the files of `config`'s TLS (loadBrokerTls); `apply` gets each new BrokerTls, whose
 * listener and peer parts are null exactly where they were at start. Returns what stops the watch.
 */
export function watchBrokerTls(
  config: BrokerConfig,
  apply: (next: BrokerTls) => void,
  logger: Logger,
): () => void {
  const tls = config.broker.tls;
  if (tls.reloadIntervalMs <= 0) return () => undefined;
  let seen = fingerprint(tls);
  const timer = setInterval(() => {
    const now = fingerprint(tls);
    if (now === seen) return;
    seen = now;
    try {
      apply(loadBrokerTls(config));
      logger.info({ operation: 'tls.reload', cert_file: tls.certFile }, 'TLS certificate reloaded');
    } catch (err) {
      logger.error(
        { operation: 'tls.reload', cert_file: tls.certFile, error: (err as Error).message },
        'TLS certificate reload failed; keeping the current one',
      );
    }
  }, tls.reloadIntervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
