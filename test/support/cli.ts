import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SMALL_LEDGER_ENV } from './server.js';

export const BIN = fileURLToPath(new URL('../../bin/chainproof.js', import.meta.url));

const envOf = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env });

/** Runs the built `chainproof` binary to completion, as a user's shell would. */
export function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: envOf(env), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** As `cli`, without blocking this process: for a CLI that talks to a server the test itself runs. */
export async function cliAsync(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: envOf(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}
