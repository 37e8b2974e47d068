import type { ChainproofError } from '../errors.js';

/** Exit codes: 0 ok, 1 ledger INVALID, 2 bad usage/input/configuration, 3 database, server or peer unavailable or misbehaving, 4 internal. */
export const EXIT = { OK: 0, INVALID: 1, USAGE: 2, UNAVAILABLE: 3, INTERNAL: 4 } as const;

/** Codes a script may retry on, or must take up with whoever runs the server, rather than fix its input. */
const UNAVAILABLE = new Set(['UNAVAILABLE', 'RATE_LIMITED', 'PEER_UNAVAILABLE', 'PEER_MISBEHAVED']);
const INTERNAL = new Set(['INTERNAL', 'INTERNAL_SERVER_ERROR']);

/** The exit code for an error, whether this process or a server (`--url`, whose codes are its own) raised it. */
export function exitCodeFor(e: ChainproofError): number {
  if (UNAVAILABLE.has(e.code)) return EXIT.UNAVAILABLE;
  if (INTERNAL.has(e.code)) return EXIT.INTERNAL;
  return EXIT.USAGE;
}
