import { summarize, type LatencySummary } from './stats.js';

/** Small events: ~100-byte canonical payloads, a few hundred distinct actors and resources. */
export function benchEvent(seq: number) {
  return {
    type: seq % 4 === 0 ? 'bench.transfer' : 'bench.query',
    actor: `agent:${seq % 997}`,
    resource: `subject/${seq % 10_007}`,
    payload: { seq, amount: seq % 1000, memo: 'routine benchmark event, small payload', tags: ['alpha', 'beta'] },
  };
}

export const APPEND_EVENTS = `mutation Bench($inputs: [AppendEventInput!]!) { appendEvents(inputs: $inputs) { index id } }`;
export const APPEND_EVENTS_TO = `mutation Bench($inputs: [AppendEventInput!]!, $ledger: String!) { appendEvents(inputs: $inputs, ledger: $ledger) { index id } }`;
export const APPEND_EVENT = `mutation Bench($input: AppendEventInput!) { appendEvent(input: $input) { index id } }`;
export const INCLUSION_PROOF = `query Bench($ledger: String!, $index: SafeInt!, $treeSize: SafeInt!) {
  inclusionProof(ledger: $ledger, index: $index, treeSize: $treeSize) { leafIndex treeSize leafHash hashes rootHash } }`;

let nextSeq = 0;
export const takeSeq = (n: number): number => {
  const s = nextSeq;
  nextSeq += n;
  return s;
};

export interface LoadResult {
  clients: number;
  requests: number;
  events: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  requestsPerSec: number;
  eventsPerSec: number;
  latencyMs: LatencySummary;
}

/**
 * Closed loop: `clients` concurrent loops, each sending its next request as soon as the last
 * is answered, until `durationMs` has passed or `maxRequests` were sent (whichever first).
 * `call` returns how many events the request carried, or throws.
 */
export async function closedLoop(opts: {
  clients: number;
  durationMs?: number;
  maxRequests?: number;
  call: (client: number, n: number) => Promise<number>;
}): Promise<LoadResult> {
  const lat: number[] = [];
  let requests = 0;
  let events = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = opts.durationMs === undefined ? Infinity : start + opts.durationMs;
  const max = opts.maxRequests ?? Infinity;
  let issued = 0;
  const loop = async (client: number) => {
    while (performance.now() < deadline && issued < max) {
      const n = issued++;
      const t0 = performance.now();
      try {
        const e = await opts.call(client, n);
        lat.push(performance.now() - t0);
        events += e;
        requests++;
      } catch (err) {
        errors++;
        firstError ??= String((err as Error).message ?? err).slice(0, 300);
        if (errors > 50 && errors > requests) throw new Error(`too many errors; first: ${firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, (_, c) => loop(c)));
  const elapsedMs = performance.now() - start;
  return {
    clients: opts.clients,
    requests,
    events,
    errors,
    firstError,
    elapsedMs: Math.round(elapsedMs),
    requestsPerSec: Math.round((requests / elapsedMs) * 1000),
    eventsPerSec: Math.round((events / elapsedMs) * 1000),
    latencyMs: summarize(lat),
  };
}
