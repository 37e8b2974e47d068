import type { ProvenanceService, TraceRequest } from '../provenance/service.js';
import { graphqlClient } from './graphql-client.js';
import type { ServerAddress } from './server-options.js';
import { orNull, type Shape } from './shape.js';

/** One line of a trace as the CLI and MCP show it (the GraphQL `QueryAudit` fields, minus the proof). */
export interface TraceLine {
  queryId: string;
  time: string;
  subject: string;
  predicate: string;
  lens: string | null;
  result: unknown;
  resultHash: string;
  resultConfidence: number | null;
  eventId: string;
  eventIndex: number;
  /** The account that recorded the audit (agentId is what that account said). */
  recordedBy: string;
  contributingAssertions: Array<{
    assertionHash: string;
    weight: number;
    assertion: { subject: string; predicate: string; value: unknown; lifecycle: string; confidence: number };
    source: { locator: string; contentHash: string } | null;
  }>;
}

export interface TraceResult {
  lines: TraceLine[];
  truncated: boolean;
}

/** Where `trace` reads from: the database directly or a running server (`--url`), as for the ledger commands. */
export interface TraceSource {
  trace(ledger: string, request: TraceRequest): Promise<TraceResult>;
}

export function directTraceSource(provenance: ProvenanceService): TraceSource {
  return {
    async trace(ledger, request) {
      const t = await provenance.trace(ledger, request);
      return {
        truncated: t.truncated,
        lines: t.lines.map((l) => ({
          queryId: l.queryId,
          time: l.time.toISOString(),
          subject: l.subject,
          predicate: l.predicate,
          lens: l.lens,
          result: l.result,
          resultHash: l.resultHash,
          resultConfidence: l.resultConfidence,
          eventId: l.eventId,
          eventIndex: l.eventIndex,
          recordedBy: l.recordedBy,
          contributingAssertions: l.contributingAssertions.map((c) => ({
            assertionHash: c.assertionHash,
            weight: c.weight,
            assertion: { subject: c.assertion.subject, predicate: c.assertion.predicate, value: c.assertion.value, lifecycle: c.assertion.lifecycle, confidence: c.assertion.confidence },
            source: c.source && { locator: c.source.locator, contentHash: c.source.contentHash },
          })),
        })),
      };
    },
  };
}

const TRACE_QUERY = `query($l: String!, $agent: String!, $since: DateTimeISO!, $until: DateTimeISO, $subject: String, $first: Int) {
  trace(ledger: $l, agent: $agent, since: $since, until: $until, subject: $subject, first: $first) {
    truncated
    lines { queryId time subject predicate lens result resultHash resultConfidence eventId eventIndex recordedBy
      contributingAssertions { assertionHash weight assertion { subject predicate value lifecycle confidence } source { locator contentHash } } }
  }
}`;

const TRACE: Shape = {
  truncated: 'boolean',
  lines: [{
    queryId: 'string', time: 'string', subject: 'string', predicate: 'string', lens: orNull('string'), result: 'any', resultHash: 'string',
    resultConfidence: orNull('number'), eventId: 'string', eventIndex: 'number', recordedBy: 'string',
    contributingAssertions: [{
      assertionHash: 'string', weight: 'number',
      assertion: { subject: 'string', predicate: 'string', value: 'any', lifecycle: 'string', confidence: 'number' },
      source: orNull({ locator: 'string', contentHash: 'string' }),
    }],
  }],
};

export function remoteTraceSource(server: ServerAddress): TraceSource {
  const call = graphqlClient(server);
  return {
    async trace(ledger, r) {
      const d = await call<{ trace: TraceResult }>(TRACE_QUERY, {
        l: ledger, agent: r.agent, since: new Date(r.sinceMs).toISOString(), until: r.untilMs === undefined ? null : new Date(r.untilMs).toISOString(), subject: r.subject, first: r.first,
      }, { trace: TRACE });
      return d.trace;
    },
  };
}
