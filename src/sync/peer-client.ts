import { boundedText } from '../bounded-body.js';
import { ChainproofError } from '../errors.js';
import { NO_REDIRECTS, redirectTarget } from '../redirect.js';
import type { ReplicatedEvent } from '../ledger/ledger-service.js';
import { SYNC_LEDGER } from './peer.js';

/** The most a peer's answer may take: a page of leaves at the largest payloads (bytes, counted as they arrive). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const HEX_HASH = /^[0-9a-f]{64}$/;
const HEX_SIGNATURE = /^[0-9a-f]{128}$/;

/** The HTTP header a node names itself with when it pulls, so the peer can count what it sent. */
export const PEER_HEADER = 'chainproof-peer';

/** An answer over MAX_RESPONSE_BYTES: from an honest peer, a page of large events that a smaller page would carry. */
export class AnswerTooLarge extends ChainproofError {
  constructor(message: string) {
    super('PEER_MISBEHAVED', message);
  }
}

export interface PeerLeaves {
  leaves: ReplicatedEvent[];
  proof: Buffer[];
}

/**
 * Pulls from one peer over its GraphQL API. Everything it returns is attacker-controlled:
 * shapes are checked here, contents (signatures, proofs) by the caller. Transport failures
 * are PEER_UNAVAILABLE (retry later); answers of the wrong shape are PEER_MISBEHAVED.
 */
export class PeerClient {
  constructor(
    readonly url: string,
    private readonly self: string,
    private readonly apiKey: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  /** The peer's newest checkpoint note, signing one at its newest block first if that is newer; null for an empty log. */
  async checkpoint(): Promise<string | null> {
    const d = await this.call<{ syncCheckpoint: { note: string } | null }>(
      `query($l: String!) { syncCheckpoint(ledger: $l) { note } }`,
      { l: SYNC_LEDGER },
    );
    const note = d.syncCheckpoint?.note;
    if (d.syncCheckpoint !== null && typeof note !== 'string') this.misbehaved('syncCheckpoint has no note');
    return note ?? null;
  }

  async consistency(fromSize: number, toSize: number): Promise<Buffer[]> {
    const d = await this.call<{ consistencyProof: { hashes: unknown } }>(
      `query($l: String!, $f: SafeInt!, $t: SafeInt!) { consistencyProof(ledger: $l, fromSize: $f, toSize: $t) { hashes } }`,
      { l: SYNC_LEDGER, f: fromSize, t: toSize },
    );
    return this.hashes(d.consistencyProof?.hashes, 'consistencyProof.hashes');
  }

  async leaves(start: number, end: number, treeSize: number): Promise<PeerLeaves> {
    const d = await this.call<{ leafRange: { leaves: unknown; proof: unknown } }>(
      `query($l: String!, $s: SafeInt!, $e: SafeInt!, $n: SafeInt!) {
         leafRange(ledger: $l, start: $s, end: $e, treeSize: $n) { leaves { canonical signature } proof } }`,
      { l: SYNC_LEDGER, s: start, e: end, n: treeSize },
    );
    const raw = d.leafRange?.leaves;
    if (!Array.isArray(raw) || raw.length !== end - start) this.misbehaved(`leafRange sent ${Array.isArray(raw) ? raw.length : 'no'} leaves for [${start}, ${end})`);
    const leaves = raw.map((l: { canonical?: unknown; signature?: unknown }, i): ReplicatedEvent => {
      if (typeof l?.canonical !== 'string') this.misbehaved(`leaf ${start + i} has no canonical bytes`);
      if (l.signature !== null && (typeof l.signature !== 'string' || !HEX_SIGNATURE.test(l.signature))) {
        this.misbehaved(`leaf ${start + i} has a malformed signature`);
      }
      return { canonical: Buffer.from(l.canonical, 'base64'), signature: l.signature === null ? null : Buffer.from(l.signature as string, 'hex') };
    });
    return { leaves, proof: this.hashes(d.leafRange.proof, 'leafRange.proof') };
  }

  private hashes(value: unknown, what: string): Buffer[] {
    if (!Array.isArray(value) || value.length > 128 || !value.every((h) => typeof h === 'string' && HEX_HASH.test(h))) {
      this.misbehaved(`${what} is not a list of hex hashes`);
    }
    return (value as string[]).map((h) => Buffer.from(h, 'hex'));
  }

  private misbehaved(why: string): never {
    throw new ChainproofError('PEER_MISBEHAVED', `peer ${this.url}: ${why}`);
  }

  private async call<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    let text: string;
    let status: number;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [PEER_HEADER]: this.self,
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: NO_REDIRECTS,
      });
      status = res.status;
      const to = await redirectTarget(res);
      if (to !== undefined) throw new ChainproofError('PEER_UNAVAILABLE', `peer ${this.url} answered HTTP ${status}, a redirect to ${to}: configure the peer by the URL it answers at`);
      const bounded = await boundedText(res, MAX_RESPONSE_BYTES);
      if (bounded === undefined) throw new AnswerTooLarge(`peer ${this.url}: answer exceeds ${MAX_RESPONSE_BYTES} bytes`);
      text = bounded;
    } catch (cause) {
      if (cause instanceof ChainproofError) throw cause;
      throw new ChainproofError('PEER_UNAVAILABLE', `cannot reach peer ${this.url}: ${(cause as Error).message}`, { cause });
    }
    let body: { data?: T; errors?: Array<{ message?: string; extensions?: { code?: string } }> };
    try {
      body = JSON.parse(text);
    } catch {
      throw new ChainproofError('PEER_UNAVAILABLE', `peer ${this.url} answered HTTP ${status} with no JSON`);
    }
    if (body.errors?.length) {
      const e = body.errors[0]!;
      throw new ChainproofError('PEER_UNAVAILABLE', `peer ${this.url} refused: ${e.extensions?.code ?? 'ERROR'}: ${String(e.message).slice(0, 300)}`);
    }
    if (!body.data) throw new ChainproofError('PEER_UNAVAILABLE', `peer ${this.url} answered HTTP ${status} without data`);
    return body.data;
  }
}
