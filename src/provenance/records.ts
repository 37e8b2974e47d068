import { randomUUID } from 'node:crypto';
import { ChainproofError } from '../errors.js';
import { isStorableText, MAX_PAYLOAD_DEPTH, MAX_TEXT_FIELD, nestsDeeperThan, withCanonicalText } from '../ledger/events/envelope.js';
import { QUERY_ID } from './query-id.js';
import { assertionHashOf, canonicalExchange, canonicalJson, sha256Hex, type AssertionContent } from './hashing.js';

export const LIFECYCLES = ['PROPOSED', 'ACCEPTED', 'DEPRECATED', 'REJECTED'] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];
export const MAX_CONTRIBUTIONS = 256;

export interface SourceInput {
  locator: string;
  contentHash: string;
  mediaType?: string | null;
}

export type AssertionInput = Omit<AssertionContent, 'supersedes'> & { supersedes?: string | null };

export interface ContributionInput {
  assertionHash: string;
  weight: number;
}

export interface QueryInput {
  queryId?: string | null;
  agentId: string;
  subject: string;
  predicate: string;
  lens?: string | null;
  lifecycleFilter?: string[] | null;
  result: unknown;
  resultConfidence?: number | null;
  contributingAssertions: ContributionInput[];
}

export interface OperationInput {
  principal: string;
  operationName: string | null;
  operationType: string | null;
  documentHash: string;
  variablesHash: string;
  resultHash: string;
  durationMs: number;
}

/** Event payloads: everything a projection row holds comes from these (so projections rebuild from events). */
export interface SourcePayload {
  contentHash: string;
  locator: string;
  mediaType?: string;
}
export type AssertionPayload = AssertionContent & { hash: string; lifecycle: Lifecycle };
export interface QueryPayload {
  queryId: string;
  agentId: string;
  subject: string;
  predicate: string;
  lens?: string;
  lifecycleFilter?: Lifecycle[];
  result: unknown;
  resultHash: string;
  resultConfidence?: number;
  contributingAssertions: ContributionInput[];
}
export type OperationPayload = OperationInput;

const bad = (message: string): never => {
  throw new ChainproofError('BAD_USER_INPUT', message);
};

function text(name: string, v: unknown, max = MAX_TEXT_FIELD): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) return bad(`${name} must be 1..${max} characters`);
  if (!isStorableText(v)) return bad(`${name} must be well-formed Unicode without NUL characters`);
  return v;
}

/**
 * Text that goes into a btree index along with another: PostgreSQL refuses an index entry over
 * 2,704 bytes, which 2,048 characters (or two of 512) of three-byte UTF-8 exceed. Bounded in
 * bytes as well, so such input gets BAD_USER_INPUT rather than a database error.
 */
function indexedText(name: string, v: unknown, maxChars: number, maxBytes: number): string {
  const s = text(name, v, maxChars);
  if (Buffer.byteLength(s, 'utf8') > maxBytes) return bad(`${name} must be at most ${maxBytes} bytes of UTF-8`);
  return s;
}

const optionalText = (name: string, v: unknown): string | undefined => (v === undefined || v === null ? undefined : text(name, v));

/** Hashes are 64 hex characters (SHA-256); stored and compared lowercase. */
export function hexHash(name: string, v: unknown): string {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) return bad(`${name} must be 64 hex characters (SHA-256)`);
  return v.toLowerCase();
}

function unit(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) return bad(`${name} must be a number in 0..1`);
  return v;
}

function lifecycle(name: string, v: unknown): Lifecycle {
  if (!LIFECYCLES.includes(v as Lifecycle)) return bad(`${name} must be one of ${LIFECYCLES.join(', ')}`);
  return v as Lifecycle;
}

export function sourcePayload(i: SourceInput): SourcePayload {
  const p: SourcePayload = { contentHash: hexHash('contentHash', i.contentHash), locator: indexedText('locator', i.locator, 2048, 2048) };
  const mediaType = optionalText('mediaType', i.mediaType);
  if (mediaType !== undefined) p.mediaType = mediaType;
  return p;
}

export function assertionPayload(i: AssertionInput): AssertionPayload {
  if (i.value === undefined) bad('value is required (any JSON value)');
  canonicalJson(i.value);
  const content = {
    // (ledger_id, subject, predicate) is one index entry: 1,024 bytes each keeps it under the limit.
    subject: indexedText('subject', i.subject, MAX_TEXT_FIELD, 1024),
    predicate: indexedText('predicate', i.predicate, MAX_TEXT_FIELD, 1024),
    value: i.value,
    lifecycle: lifecycle('lifecycle', i.lifecycle),
    confidence: unit('confidence', i.confidence),
    sourceHash: hexHash('sourceHash', i.sourceHash),
    ...(i.supersedes === undefined || i.supersedes === null ? {} : { supersedes: hexHash('supersedes', i.supersedes) }),
  };
  return { hash: assertionHashOf(content), ...content };
}

/** The longest operation name an operation audit keeps; its document hash covers the whole document. */
export const MAX_OPERATION_NAME = 256;

/**
 * An operation audit's payload. `operationName` is attacker-controlled — whatever the client
 * sent, also on a request refused for naming no operation of its document — and is kept
 * bounded and well-formed rather than refused: the audit must not fail on text the audited
 * client chose (a 70,000-character name broke the payload limit, a NUL the database's text).
 */
export function operationPayload(i: OperationInput): OperationPayload {
  for (const k of ['documentHash', 'variablesHash', 'resultHash'] as const) hexHash(k, i[k]);
  if (i.operationName === null) return { ...i };
  let name = i.operationName;
  if (name.length > MAX_OPERATION_NAME) {
    // Not between the two halves of a surrogate pair.
    const high = name.charCodeAt(MAX_OPERATION_NAME - 1);
    name = name.slice(0, high >= 0xd800 && high <= 0xdbff ? MAX_OPERATION_NAME - 1 : MAX_OPERATION_NAME);
  }
  return { ...i, operationName: (name.replaceAll('\u0000', '\ufffd') as unknown as { toWellFormed(): string }).toWellFormed() };
}

export function queryPayload(i: QueryInput): QueryPayload {
  const queryId = i.queryId === undefined || i.queryId === null ? randomUUID() : i.queryId;
  if (!QUERY_ID.test(queryId)) bad('queryId must be 1..128 of letters, digits and . _ : -, starting with a letter or digit');
  if (i.result === undefined) bad('result is required (any JSON value)');
  const contributions = i.contributingAssertions ?? [];
  if (!Array.isArray(contributions) || contributions.length > MAX_CONTRIBUTIONS) {
    bad(`contributingAssertions must be a list of at most ${MAX_CONTRIBUTIONS}`);
  }
  const seen = new Set<string>();
  const contributingAssertions = contributions.map((c, n) => {
    const assertionHash = hexHash(`contributingAssertions[${n}].assertionHash`, c.assertionHash);
    if (seen.has(assertionHash)) bad(`contributingAssertions names assertion ${assertionHash} twice`);
    seen.add(assertionHash);
    return Object.freeze({ assertionHash, weight: unit(`contributingAssertions[${n}].weight`, c.weight) });
  });
  const agentId = text('agentId', i.agentId);
  const subject = text('subject', i.subject);
  const predicate = text('predicate', i.predicate);
  // The result sits one level inside the payload, which the ledger holds to MAX_PAYLOAD_DEPTH,
  // and a replica refuses past it: the payload's text, written here, is not measured again.
  if (nestsDeeperThan(i.result, MAX_PAYLOAD_DEPTH - 1)) bad(`result nests deeper than ${MAX_PAYLOAD_DEPTH - 1} levels`);
  const resultText = canonicalJson(i.result);
  // SHA-256 of the result's canonical form, so anyone holding the result can recompute it.
  const resultHash = sha256Hex(resultText);
  const lens = optionalText('lens', i.lens);
  const lifecycleFilter = i.lifecycleFilter === undefined || i.lifecycleFilter === null
    ? undefined
    : [...new Set(i.lifecycleFilter.map((l) => lifecycle('lifecycleFilter', l)))];
  const resultConfidence = i.resultConfidence === undefined || i.resultConfidence === null ? undefined : unit('resultConfidence', i.resultConfidence);
  // Keys in RFC 8785 order, as the text below writes them.
  const payload: QueryPayload = {
    agentId,
    contributingAssertions: Object.freeze(contributingAssertions) as ContributionInput[],
    ...(lens === undefined ? {} : { lens }),
    ...(lifecycleFilter === undefined ? {} : { lifecycleFilter: Object.freeze(lifecycleFilter) as Lifecycle[] }),
    predicate,
    queryId,
    result: i.result,
    ...(resultConfidence === undefined ? {} : { resultConfidence }),
    resultHash,
    subject,
  };
  Object.freeze(payload);
  resultTexts.set(payload, resultText);
  return withCanonicalText(payload, queryPayloadText(payload, resultText));
}

/** The canonical text of each built query payload's result, which its audit row stores. */
const resultTexts = new WeakMap<QueryPayload, string>();

/**
 * The RFC 8785 text of a query payload's result: as queryPayload wrote it, or, for a payload
 * read back from the ledger (a rebuild), canonicalised again.
 */
export const resultTextOf = (p: QueryPayload): string => resultTexts.get(p) ?? canonicalExchange(p.result);

/**
 * The RFC 8785 text of a checked query payload, written field by field: its text fields are
 * well-formed (checked above), and JSON.stringify writes such strings and finite numbers
 * exactly as RFC 8785 does. Canonicalising each payload in full took 12 % of the main thread's
 * time while recording audits (bench/HISTORY.md, run 22); writing it saves ≈ 1.5 µs an audit.
 * The payload is frozen, down to its lists: the ledger trusts the text to be the payload's.
 * test/provenance/records.property.test.ts holds it byte-identical to the reference canonicaliser.
 */
function queryPayloadText(p: QueryPayload, resultText: string): string {
  const str = JSON.stringify;
  let text = `{"agentId":${str(p.agentId)},"contributingAssertions":[`;
  for (let n = 0; n < p.contributingAssertions.length; n++) {
    const c = p.contributingAssertions[n]!;
    text += `${n > 0 ? ',' : ''}{"assertionHash":"${c.assertionHash}","weight":${str(c.weight)}}`;
  }
  text += ']';
  if (p.lens !== undefined) text += `,"lens":${str(p.lens)}`;
  if (p.lifecycleFilter !== undefined) text += `,"lifecycleFilter":${str(p.lifecycleFilter)}`;
  text += `,"predicate":${str(p.predicate)},"queryId":${str(p.queryId)},"result":${resultText}`;
  if (p.resultConfidence !== undefined) text += `,"resultConfidence":${str(p.resultConfidence)}`;
  return `${text},"resultHash":"${p.resultHash}","subject":${str(p.subject)}}`;
}
