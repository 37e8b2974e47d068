import type { Command } from 'commander';
import { ChainproofError } from '../errors.js';

/** A running server the CLI asks instead of the database. */
export interface ServerAddress {
  url: string;
  key: string | undefined;
  /** How long one request may take, answer read in full: a server that accepts and never answers must not hang a script. */
  timeoutMs: number;
}

export interface ServerOptions {
  url?: string;
  key?: string;
  timeout: string;
}

const MAX_TIMEOUT_S = 3600;

/**
 * `--url`, `--key` and `--timeout`, as every command that can ask a server takes them. A command
 * whose one request may rightly run long (`sync now` catching up a large peer) gives a longer default.
 */
export function serverOptions(c: Command, keyHelp = 'API key for --url (or CHAINPROOF_API_KEY)', defaultTimeoutS = 60): Command {
  return c
    .option('--url <url>', 'a running server (GraphQL URL) instead of the database')
    .option('--key <key>', keyHelp)
    .option('--timeout <seconds>', `with --url: how long to wait for each answer (1..${MAX_TIMEOUT_S})`, String(defaultTimeoutS));
}

/**
 * The server the options name, or undefined for the database. `--timeout` is checked either way,
 * so a typo is refused before any work rather than only once a URL is added.
 */
export function serverOf(o: ServerOptions): ServerAddress | undefined {
  const s = Number(o.timeout);
  if (!/^[0-9]{1,4}$/.test(o.timeout) || s < 1 || s > MAX_TIMEOUT_S) {
    throw new ChainproofError('BAD_USER_INPUT', `--timeout must be whole seconds from 1 to ${MAX_TIMEOUT_S} (got ${JSON.stringify(o.timeout)})`);
  }
  return o.url === undefined ? undefined : { url: o.url, key: o.key ?? process.env.CHAINPROOF_API_KEY, timeoutMs: s * 1000 };
}
