import { hash } from 'node:crypto';
import { canonicalPayload } from '../ledger/events/envelope.js';
import { rfc8785 } from '../ledger/events/rfc8785.js';

/** RFC 8785 text of a value that goes into a record; BAD_USER_INPUT for what JSON cannot carry (NaN, lone surrogates) or nests too deep. */
export const canonicalJson = (value: unknown): string => canonicalPayload(value);

/**
 * RFC 8785 text without a payload's depth limit: of what a client sent or received (hashed for
 * the operation audit), and of what the ledger already holds (read back by a rebuild or an
 * export: it was accepted once, under whatever limit held then). Throws where JSON cannot carry
 * it, or the value nests past the stack (the operation audit then records UNENCODABLE_HASH).
 */
export const canonicalExchange = (value: unknown): string => rfc8785(value);

export const sha256Hex = (text: string): string => hash('sha256', text, 'hex');

export interface AssertionContent {
  subject: string;
  predicate: string;
  value: unknown;
  lifecycle: string;
  confidence: number;
  sourceHash: string;
  supersedes?: string;
}

/**
 * An assertion's id is the hash of what it claims and where from, so the same claim recorded
 * twice is one assertion, and changing any field (even the lifecycle) makes a new one.
 */
export function assertionHashOf(a: AssertionContent): string {
  // Keys in RFC 8785 order, so canonicalising need not sort them.
  const content: Record<string, unknown> = {
    confidence: a.confidence,
    lifecycle: a.lifecycle,
    predicate: a.predicate,
    sourceHash: a.sourceHash,
    subject: a.subject,
  };
  if (a.supersedes !== undefined) content.supersedes = a.supersedes;
  content.value = a.value;
  return sha256Hex(canonicalJson(content));
}
