import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/chainproof.js', import.meta.url));
export const BENCH_SEED = 'b3c1e5a7d9f00112233445566778899aabbccddeeff00112233445566778899a';
export const BENCH_ORIGIN = 'bench.chainproof';
/** Bootstrap admin API key (CHAINPROOF_ADMIN_KEY) the benchmark authenticates with, where the server has API keys. */
export const BENCH_ADMIN_KEY = 'cpk_bench_admin_0123456789abcdef0123456789abcdef';

/**
 * The server configuration every benchmark uses: defaults throughout (ledger parameters,
 * pool size, logging at info with one access-log line per request), plus a fixed signing
 * seed, origin and bootstrap admin key — and the per-IP/per-key rate limits (default 1,000
 * requests/s each) switched off, since all benchmark traffic comes from one IP and one key.
 */
export function benchServerEnv(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    CHAINPROOF_SIGNING_SEED: BENCH_SEED,
    CHAINPROOF_ORIGIN: BENCH_ORIGIN,
    CHAINPROOF_ADMIN_KEY: BENCH_ADMIN_KEY,
    CHAINPROOF_RATE_LIMIT_PER_IP: '0',
    CHAINPROOF_RATE_LIMIT_PER_KEY: '0',
    // The subscriber benchmark opens 1,100 sockets from one address.
    CHAINPROOF_WS_MAX_CONNECTIONS_PER_IP: '0',
    LOG_LEVEL: 'info',
  };
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** The last lines the server wrote (JSON logs). */
  logs: string[];
  stop(timeoutMs?: number): Promise<number | null>;
}

/** A real server process (`node bin/chainproof.js serve`), port 0, bound to 127.0.0.1; its URL comes from its start-up log line. */
/**
 * Diagnosis knobs: BENCH_SERVER_NODE_ARGS adds node flags to the server (e.g. `--trace-gc`);
 * BENCH_SERVER_LOG=<file> copies everything it writes to that file.
 */
export async function startServer(env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerProcess> {
  const extraArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...extraArgs, ...nodeArgs, BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', CHAINPROOF_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const copy = process.env.BENCH_SERVER_LOG ? createWriteStream(process.env.BENCH_SERVER_LOG, { flags: 'a' }) : undefined;
  if (copy) {
    child.stdout!.pipe(copy, { end: false });
    child.stderr!.pipe(copy, { end: false });
  }
  const keep = (line: string) => {
    logs.push(line);
    if (logs.length > 1000) logs.splice(0, 500);
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  let listening = false;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('\n')}`)), 60_000);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        keep(line);
        if (listening || !line.includes('Chainproof listening')) continue;
        try {
          const entry = JSON.parse(line) as { url?: string; msg?: string };
          if (entry.url && entry.msg?.startsWith('Chainproof listening')) {
            listening = true;
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          /* not a log line */
        }
      }
    });
    child.stderr!.on('data', (c: Buffer) => keep(c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    url,
    logs,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
