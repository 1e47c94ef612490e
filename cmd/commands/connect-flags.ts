/**
 * How every client command reaches the brokers: `--bootstrap` and, for brokers serving TLS
 * (broker.tls.enabled), `--tls` and its files. Each flag falls back to an environment variable, so a shell
 * set up once (STREAMBUS_BOOTSTRAP, STREAMBUS_TLS_CA, ...) serves every command.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type ClientOptions,
  type ClientTlsOptions,
  createClient,
  type StreamBusClient,
} from '../../src/index.js';

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

/** The flags withBootstrap adds, as commander parses them. */
export interface ConnectFlags {
  bootstrap: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Adds `--bootstrap` and the TLS flags, each falling back to its STREAMBUS_* variable. */
export function withBootstrap(command: Command): Command {
  const env = process.env;
  return command
    .option(
      '--bootstrap <hosts>',
      'broker addresses, host:port[,host:port] (env STREAMBUS_BOOTSTRAP)',
      env.STREAMBUS_BOOTSTRAP ?? DEFAULT_BOOTSTRAP,
    )
    .option('--tls', "connect over TLS, trusting Node's bundled CAs unless --tls-ca says otherwise")
    .option(
      '--tls-ca <file>',
      'PEM CA certificate(s) the brokers are signed by; implies --tls (env STREAMBUS_TLS_CA)',
      env.STREAMBUS_TLS_CA,
    )
    .option(
      '--tls-cert <file>',
      'PEM client certificate, for brokers requiring one; implies --tls (env STREAMBUS_TLS_CERT)',
      env.STREAMBUS_TLS_CERT,
    )
    .option('--tls-key <file>', 'PEM key of --tls-cert (env STREAMBUS_TLS_KEY)', env.STREAMBUS_TLS_KEY);
}

/** The client options the flags describe; a TLS file that cannot be read is an error naming its flag. */
export function clientOptions(flags: ConnectFlags, clientId: string): ClientOptions {
  // The client splits host:port[,host:port] itself (client.ts).
  const options: ClientOptions = { bootstrap: flags.bootstrap, clientId };
  if (flags.tlsCert !== undefined && flags.tlsKey === undefined) {
    throw new Error('--tls-cert needs --tls-key (the certificate’s private key)');
  }
  if (flags.tlsKey !== undefined && flags.tlsCert === undefined)
    throw new Error('--tls-key needs --tls-cert');
  const tls: ClientTlsOptions = {};
  if (flags.tlsCa !== undefined) tls.ca = readPem('--tls-ca', flags.tlsCa);
  if (flags.tlsCert !== undefined) tls.cert = readPem('--tls-cert', flags.tlsCert);
  if (flags.tlsKey !== undefined) tls.key = readPem('--tls-key', flags.tlsKey);
  if (flags.tls === true || Object.keys(tls).length > 0) options.tls = tls;
  return options;
}

export function cliClient(flags: ConnectFlags, clientId = 'streambus-cli'): StreamBusClient {
  return createClient(clientOptions(flags, clientId));
}

/** Runs `fn` with a client on the flags' brokers, closing it afterwards. */
export async function withClient<T>(
  flags: ConnectFlags,
  fn: (client: StreamBusClient) => Promise<T>,
): Promise<T> {
  const client = cliClient(flags);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
}
