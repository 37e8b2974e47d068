import { Worker } from 'node:worker_threads';
import { assertValidTemplate, type BlockTemplate } from './header.js';
import { MINE_WORKER_SOURCE } from './mine-worker.js';

export interface MineResult {
  nonce: number;
  /** blockHash of the template with this nonce, lowercase hex. */
  hash: string;
}

export interface MinerOptions {
  /** Worker threads sharing each search (default 1). The main thread never hashes. */
  workers?: number;
}

type WorkerReply =
  | { type: 'found'; id: number; nonce: number; hash: string }
  | { type: 'cancelled' | 'exhausted'; id: number }
  | { type: 'error'; id: number; message: string };

interface Job {
  readonly id: number;
  readonly template: BlockTemplate;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (r: MineResult) => void;
  readonly reject: (e: unknown) => void;
  onAbort?: () => void;
  /** Shared with the workers; setting it to 1 stops them within one chunk. */
  cancel?: Int32Array;
  exhaustedWorkers: number;
  settled: boolean;
}

/**
 * Proof-of-work search on worker threads. Jobs run one at a time in call order; each job splits
 * the nonce space across the workers (worker i tries i, i+n, i+2n, ...). Aborting rejects at once
 * with `signal.reason` (an AbortError DOMException for a plain `controller.abort()`), and the
 * workers drop the job within one chunk. Idle workers are unref'd so a forgotten Miner does not
 * keep the process alive, but call close() to free the threads.
 */
export class Miner {
  readonly #size: number;
  #workers: Worker[] = [];
  #queue: Job[] = [];
  #current: Job | null = null;
  #nextId = 1;
  #closed = false;

  constructor(opts: MinerOptions = {}) {
    const n = opts.workers ?? 1;
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`workers must be a positive integer, got ${n}`);
    this.#size = n;
  }

  mine(template: BlockTemplate, signal?: AbortSignal): Promise<MineResult> {
    if (this.#closed) return Promise.reject(new Error('Miner is closed'));
    try {
      assertValidTemplate(template);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));

    return new Promise<MineResult>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, template: pickTemplate(template), signal, resolve, reject, exhaustedWorkers: 0, settled: false };
      if (signal) {
        job.onAbort = () => this.#settle(job, { error: abortReason(signal) });
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const err = new Error('Miner is closed');
    for (const job of [...this.#queue, ...(this.#current ? [this.#current] : [])]) this.#settle(job, { error: err });
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  #settle(job: Job, outcome: { result: MineResult } | { error: unknown }): void {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    if (job.cancel) Atomics.store(job.cancel, 0, 1);
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) this.#queue.splice(queued, 1);
    if (this.#current === job) this.#current = null;
    if ('result' in outcome) job.resolve(outcome.result);
    else job.reject(outcome.error);
    this.#pump();
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) {
      for (const w of this.#workers) w.unref();
      return;
    }
    this.#current = job;
    try {
      while (this.#workers.length < this.#size) this.#workers.push(this.#spawn());
    } catch (err) {
      this.#settle(job, { error: err });
      return;
    }
    job.cancel = new Int32Array(new SharedArrayBuffer(4));
    this.#workers.forEach((w, i) => {
      w.ref();
      w.postMessage({
        id: job.id,
        template: job.template,
        difficulty: job.template.difficulty,
        start: i,
        stride: this.#size,
        cancel: job.cancel!.buffer,
      });
    });
  }

  #spawn(): Worker {
    const w = new Worker(MINE_WORKER_SOURCE, { eval: true });
    w.on('message', (m: WorkerReply) => this.#onReply(m));
    w.on('error', (err) => this.#onWorkerLost(w, err));
    w.on('exit', (code) => this.#onWorkerLost(w, new Error(`mining worker exited with code ${code}`)));
    return w;
  }

  #onReply(m: WorkerReply): void {
    const job = this.#current;
    // Replies for jobs already settled (found elsewhere, aborted) are expected and ignored.
    if (!job || m.id !== job.id) return;
    switch (m.type) {
      case 'found':
        this.#settle(job, { result: { nonce: m.nonce, hash: m.hash } });
        break;
      case 'exhausted':
        if (++job.exhaustedWorkers === this.#size) this.#settle(job, { error: new Error('nonce space exhausted without meeting difficulty') });
        break;
      case 'error':
        this.#settle(job, { error: new Error(`mining worker failed: ${m.message}`) });
        break;
      case 'cancelled':
        break;
    }
  }

  #onWorkerLost(w: Worker, err: Error): void {
    const i = this.#workers.indexOf(w);
    if (i < 0) return; // already removed: closing, or 'error' already handled before 'exit'
    this.#workers.splice(i, 1);
    void w.terminate();
    // The lost worker's share of the nonce space is gone, so the running job cannot be trusted to finish.
    if (this.#current) this.#settle(this.#current, { error: err });
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

// Only the header fields cross the thread boundary: extra properties might not be cloneable.
function pickTemplate(t: BlockTemplate): BlockTemplate {
  return {
    height: t.height,
    previousHash: t.previousHash,
    eventsRoot: t.eventsRoot,
    treeSize: t.treeSize,
    treeRoot: t.treeRoot,
    timestamp: t.timestamp,
    difficulty: t.difficulty,
  };
}
