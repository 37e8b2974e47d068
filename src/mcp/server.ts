import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { z } from 'zod';
import { ChainproofError } from '../errors.js';
import type { LedgerSource } from '../cli/source.js';
import type { TraceSource } from '../cli/trace-source.js';
import { parseUntil, parseWhen } from '../cli/trace.js';
import { LEDGER_NAME, LEDGER_NAME_RULE } from '../ledger/ledger-name.js';
import { textProblem } from '../server/input-text.js';
import { toolServer } from './tools.js';

/**
 * Chainproof for agents over MCP: the audit tools (and `provenance_trace` and `sync_status` when given their sources) with JSON schemas and hard limits. Every answer
 * is JSON text; every refusal is an error result with the same code the API would give.
 */
export function chainproofMcpServer(
  source: LedgerSource,
  version: string,
  traces?: TraceSource,
  syncStatus?: () => Promise<unknown>,
): Server {
  const { server, tool } = toolServer('chainproof', version);
  // Refused as the API refuses it: NUL would surface from PostgreSQL as INTERNAL, and a lone
  // surrogate would be stored as U+FFFD, not as given.
  const text = (min: number, max: number) =>
    (min > 0 ? z.string().min(min) : z.string()).max(max).refine((s) => textProblem(s) === undefined, {
      message: 'text must be well-formed Unicode without U+0000 (NUL)',
    });
  const ledger = z
    .string()
    .regex(LEDGER_NAME, LEDGER_NAME_RULE)
    .default('main')
    .describe('ledger name');
  const WHEN = 'RFC 3339 time with zone (2026-12-01T03:00Z), a date (UTC), "now", or like "6 hours ago" / "90m"';

  tool(
    'audit_query',
    {
      title: 'Query audit events',
      description: 'Events of a ledger, oldest first, filtered by type, author and time range.',
      inputSchema: {
        ledger,
        type: z.array(text(1, 128)).max(50).optional().describe('event types to include'),
        author: text(0, 512).optional(),
        actor: text(0, 512).optional(),
        from: text(1, 64).optional().describe(`events at or after: ${WHEN}`),
        to: text(1, 64).optional().describe('events at or before, as from; "now" means every event up to the newest'),
        limit: z.number().int().min(1).max(1000).default(50),
        includePayload: z.boolean().default(false).describe('include each event\'s payload'),
      },
    },
    async (a) => {
      const now = Date.now();
      const fromMs = a.from === undefined ? undefined : parseWhen('from', a.from, now);
      const toMs = a.to === undefined ? undefined : parseUntil('to', a.to, now);
      // As trace refuses since after until: an empty window is a mistake to name, not an answer.
      if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) throw new ChainproofError('BAD_USER_INPUT', 'from must not be after to');
      const page = await source.events(a.ledger, { types: a.type, author: a.author, actor: a.actor, fromMs, toMs }, a.limit, null);
      return {
        events: page.events.map(({ canonical: _c, payload, ...e }) => (a.includePayload ? { ...e, payload } : e)),
        more: page.hasNextPage,
      };
    },
  );

  tool(
    'audit_checkpoint',
    {
      title: 'Create a checkpoint',
      description: 'Seal pending events into a mined block and sign a C2SP checkpoint there.',
      inputSchema: { ledger, name: text(1, 128).optional(), tags: z.array(text(1, 64)).max(32).default([]) },
    },
    (a) => source.checkpoint(a.ledger, a.name, a.tags),
  );

  tool(
    'audit_verify',
    {
      title: 'Verify a ledger',
      description: 'Quick (head) or full verification; names every tampered event, block or checkpoint.',
      inputSchema: { ledger, full: z.boolean().default(false) },
    },
    (a) => source.verify(a.ledger, a.full),
  );

  tool(
    'audit_stats',
    { title: 'Ledger statistics', description: 'Event count, blocks and events by type.', inputSchema: { ledger } },
    (a) => source.stats(a.ledger),
  );

  if (traces) {
    tool(
      'provenance_trace',
      {
        title: 'Trace an agent\'s queries',
        description:
          'What an agent queried in a time window, what it got, and which assertions (with their sources) contributed; ' +
          'each line names the ledger event that records it.',
        inputSchema: {
          ledger,
          agent: text(1, 512).describe('the agent id recorded with its queries'),
          since: text(1, 64).default('6 hours ago').describe(WHEN),
          until: text(1, 64).default('now').describe('end, as since; "now" (the default) means every query up to the newest'),
          subject: text(1, 512).optional().describe('subject glob: * within a path segment, ** across, ? one character'),
          limit: z.number().int().min(1).max(1000).default(100),
        },
      },
      (a) => {
        const now = Date.now();
        return traces.trace(a.ledger, {
          agent: a.agent,
          sinceMs: parseWhen('since', a.since, now),
          untilMs: parseUntil('until', a.until, now),
          subject: a.subject,
          first: a.limit,
        });
      },
    );
  }
  if (syncStatus) {
    tool(
      'sync_status',
      {
        title: 'Syndication status',
        description:
          'Whether this node syncs with its peers, and per peer: status, how far its log has been taken, events received and sent, ' +
          'last checkpoint, latency, errors, and whether it was flagged for contradicting a checkpoint it signed.',
        inputSchema: {},
      },
      syncStatus,
    );
  }
  return server;
}
