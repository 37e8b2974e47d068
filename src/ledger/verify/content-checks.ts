import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ContentChecker, type ContentLedger } from './content-check.js';
import type { IssueCollector } from './issues.js';
import type { VerificationIssue } from './types.js';

/**
 * Where full verification sends each page of events for ContentChecker: in this thread, or
 * in a worker thread, where it runs alongside the main thread's tree and parent checks (the
 * two are about equal work). Pages must then live in SharedArrayBuffers (Snapshot.copy with
 * `shared`), which both threads only read.
 */
export interface ContentChecks {
  readonly shared: boolean;
  /** Hands over a page of events COPY data; resolves once another may be handed over. */
  submit(page: Buffer): Promise<void>;
  /** Resolves once every page handed over is checked (and its issues collected). */
  finish(): Promise<void>;
  close(): Promise<void>;
}

export function inThisThread(ledger: ContentLedger, issues: IssueCollector): ContentChecks {
  const checker = new ContentChecker(ledger, issues);
  return {
    shared: false,
    async submit(page) {
      checker.checkPage(page);
    },
    async finish() {},
    async close() {},
  };
}

export interface WorkerRequest {
  buffer: SharedArrayBuffer;
  offset: number;
  length: number;
}
export type WorkerReply = { issues: VerificationIssue[] } | { error: string };
export interface WorkerSetup {
  ledger: ContentLedger;
  maxIssues: number;
}

/** Pages handed to the worker and not yet answered, at most. */
const IN_FLIGHT = 2;

/**
 * The worker is the compiled content-worker.js beside this module; when there is none (the
 * sources run directly, as under the test runner) this returns undefined and the caller
 * checks in its own thread.
 */
export function inWorker(ledger: ContentLedger, issues: IssueCollector, maxIssues: number): ContentChecks | undefined {
  const url = new URL('./content-worker.js', import.meta.url);
  if (url.protocol !== 'file:' || !existsSync(fileURLToPath(url))) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(url, { workerData: { ledger, maxIssues } satisfies WorkerSetup });
  } catch {
    return undefined; // no thread to be had: the caller checks in its own
  }
  let pending = 0;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (reply: WorkerReply) => {
    pending--;
    if ('error' in reply) failure ??= { error: new Error(`content check worker failed: ${reply.error}`) };
    else {
      try {
        for (const i of reply.issues) issues.add(i.kind, { index: i.index, blockHeight: i.blockHeight, checkpointId: i.checkpointId }, i.message);
      } catch (e) {
        failure ??= { error: e };
      }
    }
    notify();
  });
  worker.on('error', (error) => {
    failure ??= { error };
    notify();
  });
  worker.on('exit', (code) => {
    failure ??= { error: new Error(`content check worker exited with code ${code}`) };
    notify();
  });
  const until = async (done: () => boolean) => {
    for (;;) {
      if (failure) throw failure.error;
      if (done()) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  return {
    shared: true,
    async submit(page) {
      if (!(page.buffer instanceof SharedArrayBuffer)) throw new TypeError('pages for the content worker must be in shared memory');
      if (failure) throw failure.error;
      pending++;
      worker.postMessage({ buffer: page.buffer, offset: page.byteOffset, length: page.byteLength } satisfies WorkerRequest);
      await until(() => pending < IN_FLIGHT);
    },
    finish: () => until(() => pending === 0),
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

