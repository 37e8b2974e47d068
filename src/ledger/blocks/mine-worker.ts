// The mining worker ships as plain CommonJS source run with `new Worker(src, { eval: true })`.
// A separate .js/.ts worker file would need a different URL under vitest (raw .ts, no loader for
// worker threads) than from dist/; an eval'd string behaves identically in both, and its only
// dependencies are node:crypto and node:worker_threads.

/**
 * Defines `headerTemplateParts(t) -> [prefix, suffix]` such that
 * `prefix + String(nonce) + suffix` equals header.ts canonicalHeader (RFC 8785 JCS).
 * For a flat object of strings and safe integers, JCS is: keys sorted by UTF-16 code units,
 * strings as JSON.stringify writes them, integers in plain decimal. The key order below is that
 * sorted order; test/blocks checks it against canonicalize for random headers.
 */
export const HEADER_SERIALIZER_SOURCE = `
function headerTemplateParts(t) {
  var prefix =
    '{"difficulty":' + String(t.difficulty) +
    ',"eventsRoot":' + JSON.stringify(t.eventsRoot) +
    ',"height":' + String(t.height) +
    ',"nonce":';
  var suffix =
    ',"previousHash":' + JSON.stringify(t.previousHash) +
    ',"timestamp":' + String(t.timestamp) +
    ',"treeRoot":' + JSON.stringify(t.treeRoot) +
    ',"treeSize":' + String(t.treeSize) +
    '}';
  return [prefix, suffix];
}
`;

/** Nonces hashed between checks of the cancel flag (a few milliseconds of work). */
export const NONCES_PER_CHUNK = 4096;

/**
 * Protocol. In: { id, template, difficulty, start, stride, cancel: SharedArrayBuffer(4) }.
 * Out: { type: 'found', id, nonce, hash } | { type: 'cancelled' | 'exhausted', id } | { type: 'error', id, message }.
 * The worker tries start, start+stride, ... so several workers can split the nonce space.
 * Cancellation is a shared flag rather than a message so it is seen even mid-chunk-sequence;
 * the worker still yields to its event loop between chunks so it never starves its own messages.
 */
export const MINE_WORKER_SOURCE = `'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const CHUNK = ${NONCES_PER_CHUNK};
// Proof of work is background duty: at nice 19 this thread (on Linux the priority is per
// thread) yields the CPU to requests and PostgreSQL instead of competing with them.
try { require('node:os').setPriority(19); } catch (e) { /* not permitted here: mine at normal priority */ }
${HEADER_SERIALIZER_SOURCE}
function leadingZeroBits(hash) {
  let bits = 0;
  for (let i = 0; i < hash.length; i++) {
    if (hash[i] === 0) { bits += 8; continue; }
    return bits + Math.clz32(hash[i]) - 24;
  }
  return bits;
}

function yieldToLoop() {
  return new Promise((resolve) => setImmediate(resolve));
}

async function mine(job) {
  const parts = headerTemplateParts(job.template);
  const suffix = parts[1];
  // Hash the constant prefix once; each attempt clones that state.
  const base = createHash('sha256').update(parts[0]);
  const cancel = new Int32Array(job.cancel);
  let nonce = job.start;
  for (;;) {
    for (let k = 0; k < CHUNK; k++) {
      if (nonce > Number.MAX_SAFE_INTEGER) return { type: 'exhausted', id: job.id };
      const hash = base.copy().update(nonce + suffix).digest();
      if (leadingZeroBits(hash) >= job.difficulty) {
        return { type: 'found', id: job.id, nonce, hash: hash.toString('hex') };
      }
      nonce += job.stride;
    }
    if (Atomics.load(cancel, 0) !== 0) return { type: 'cancelled', id: job.id };
    await yieldToLoop();
    if (Atomics.load(cancel, 0) !== 0) return { type: 'cancelled', id: job.id };
  }
}

let queue = Promise.resolve();
parentPort.on('message', (job) => {
  queue = queue
    .then(() => mine(job))
    .then(
      (result) => parentPort.postMessage(result),
      (err) => parentPort.postMessage({ type: 'error', id: job.id, message: String((err && err.stack) || err) }),
    );
});
`;
