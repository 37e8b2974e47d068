import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SMALL_LEDGER_ENV } from './server.js';

export const BIN = fileURLToPath(new URL('../../bin/chainproof.js', import.meta.url));

/** Runs the built `chainproof` binary to completion, as a user's shell would. */
export function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
