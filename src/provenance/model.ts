import type { ReadBound } from './as-of.js';
import type { AssertionPayload, Lifecycle } from './records.js';

/** The most lines one trace returns: an on-call read stays bounded; narrow the window for more. */
export const MAX_TRACE_LINES = 1000;

/** Where a record sits in the ledger: the event that recorded it, so an inclusion proof backs it. */
export interface Recorded {
  recordedBy: string;
  /** When its event was appended (HLC physical clock). */
  time: Date;
  eventIndex: number;
  eventId: string;
}

export interface SourceRecord extends Recorded {
  contentHash: string;
  locator: string;
  mediaType: string | null;
}

export interface AssertionRecord extends Recorded, Omit<AssertionPayload, 'supersedes'> {
  supersedes: string | null;
  /**
   * The assertion that superseded this one, as of the read's `asOf`; undefined when the read
   * left it out, and then `successorScope` says where ProvenanceService.successorReader finds it.
   */
  supersededBy?: string | null;
  successorScope?: SuccessorScope;
  /** Length of the value's JSON text as stored, where it was read back: what citing it adds to an answer. */
  valueChars?: number;
}

/** A read's ledger and bound (its first `bound` leaves), for looking up successors later. */
export interface SuccessorScope {
  ledgerId: number;
  bound: number;
}

export interface ContributionRecord {
  assertionHash: string;
  weight: number;
  /** The cited assertion's source (DESIGN §4 names it with each contribution). */
  sourceHash: string;
  assertion: AssertionRecord;
  source: SourceRecord | null;
}

export interface QueryAuditRecord extends Recorded {
  ledger: string;
  queryId: string;
  agentId: string;
  subject: string;
  predicate: string;
  lens: string | null;
  lifecycleFilter: Lifecycle[] | null;
  result: unknown;
  resultHash: string;
  resultConfidence: number | null;
  contributingAssertions: ContributionRecord[];
  /** Set when the read had an `asOf`: the record's proof is as of then too. */
  readBound?: ReadBound;
}

export interface QueryAuditFilter {
  queryId?: string;
  agent?: string;
  /** A glob: `*` within a path segment, `**` across, `?` one character. */
  subject?: string;
  predicate?: string;
  lens?: string;
  fromMs?: number;
  toMs?: number;
}
