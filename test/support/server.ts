import { afterAll, beforeAll, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serverBackend } from './db.js';
import { TEST_SEED } from './ledger.js';

const BIN = fileURLToPath(new URL('../../bin/chainproof.js', import.meta.url));

/** A real server process (the compiled build, as `npm start` runs it) on a free port. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  logs: string[];
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The bootstrap admin key every test server gets; `gql` sends it unless told otherwise. */
export const TEST_ADMIN_KEY = 'cpk_test-admin-key-0123456789abcdefghijklmnop';

export const SMALL_LEDGER_ENV = {
  CHAINPROOF_ADMIN_KEY: TEST_ADMIN_KEY,
  // Load tests hammer one IP; the limits test turns limits back on for itself.
  CHAINPROOF_RATE_LIMIT_PER_IP: '0',
  CHAINPROOF_RATE_LIMIT_PER_KEY: '0',
  CHAINPROOF_ORIGIN: 'test.chainproof',
  CHAINPROOF_SIGNING_SEED: TEST_SEED,
  CHAINPROOF_BLOCK_SIZE: '16',
  CHAINPROOF_MAX_BLOCK_INTERVAL_MS: '100',
  CHAINPROOF_MIN_DIFFICULTY: '1',
  CHAINPROOF_INITIAL_DIFFICULTY: '4',
  CHAINPROOF_MAX_DIFFICULTY: '8',
  CHAINPROOF_TARGET_BLOCK_MS: '100',
  CHAINPROOF_CHECKPOINT_INTERVAL: '32',
  // Tests count the events they append from an empty ledger; the built-ins' own test turns them on.
  CHAINPROOF_RULES_BUILTINS: 'false',
};

export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...SMALL_LEDGER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('\n')}`)), 60_000);
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { url?: string; msg?: string };
          if (entry.url && entry.msg?.startsWith('Chainproof listening')) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          /* not a log line */
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  return {
    child,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    logs,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } & Record<string, unknown> }>;
}

export async function gql<T = any>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  key: string | null = TEST_ADMIN_KEY,
): Promise<GraphQLResponse<T> & { status: number }> {
  const post = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  // A kept-alive socket the server closes (idle timeout) just as a request goes out fails that request
  // before the server saw it; the client tries once more on a new one, as any HTTP client would.
  const res = await post().catch((e: { cause?: { code?: string } }) => {
    if (e.cause?.code === 'UND_ERR_SOCKET') return post();
    throw e;
  });
  return { ...((await res.json()) as GraphQLResponse<T>), status: res.status };
}

/** `gql` for a query that must succeed: fails the test with the errors, else returns the data. */
export async function gqlOk<T = any>(url: string, query: string, variables?: Record<string, unknown>, key?: string | null): Promise<T> {
  const r = await gql<T>(url, query, variables, key);
  expect(r.errors, query).toBeUndefined();
  return r.data!;
}

/**
 * Creates ledger `name` with one event stamped `aheadMs` ahead of this machine's clock (keep it
 * within the allowed skew): every later event of that ledger follows its clock, as on a ledger a
 * writer with a faster clock wrote to. Returns the stamped time.
 *
 * @example const ahead = await ledgerAhead(server.url, 'ahead', 30_000, writerKey);
 */
export async function ledgerAhead(url: string, name: string, aheadMs: number, key?: string | null): Promise<number> {
  await gqlOk(url, `mutation($n: String!) { createLedger(input: {name: $n}) { name } }`, { n: name });
  const at = Date.now() + aheadMs;
  await gqlOk(url, `mutation($n: String!, $t: SafeInt!) { appendEvent(ledger: $n, input: {type: "clock", actor: "x", parents: [], hlc: {physicalMs: $t, logical: 0}}) { index } }`,
    { n: name, t: at }, key);
  return at;
}

/**
 * A server process of the test file's own, on a fresh database: started before its tests,
 * stopped and its database dropped after. Read `.server` inside tests and hooks.
 *
 * @example const s = serverForFile({ CHAINPROOF_MAX_DEPTH: '4' }); it('…', () => gql(s.server.url, '{ ledgers { name } }'));
 */
export function serverForFile(env: Record<string, string> = {}): { readonly server: ServerProcess } {
  const held = {} as { server: ServerProcess };
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const backend = await serverBackend();
    cleanup = backend.cleanup;
    held.server = await startServer({ ...backend.env, ...env });
  });
  afterAll(async () => {
    await held.server?.kill('SIGTERM');
    await cleanup?.();
  });
  return held;
}
