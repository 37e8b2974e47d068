import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { Principal } from '../auth/roles.js';
import { canonicalExchange, sha256Hex } from './hashing.js';
import type { ProvenanceService } from './service.js';

/** One GraphQL operation as its client sent it and received its answer. */
export interface ServedOperation {
  operationName: string | null;
  operationType: string | null;
  /** The document text (attacker-controlled: only hashed). */
  query: string;
  variables: unknown;
  /** The response body as the client received it (errors formatted). */
  result: unknown;
  durationMs: number;
}

/** JSON as the client receives it: what JSON.stringify drops (undefined) is not hashed either. */
const asSent = (v: unknown): unknown => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

/**
 * SHA-256 of the empty text: stands for variables or a response that RFC 8785 cannot encode (a
 * lone surrogate, nesting past the stack). No JSON text is empty, so it names no real value; the
 * request it belongs to was refused for that input, and is still audited.
 */
export const UNENCODABLE_HASH = sha256Hex('');

/** SHA-256 of the RFC 8785 text of what was exchanged (attacker-controlled), or UNENCODABLE_HASH. */
function exchangeHash(v: unknown): string {
  try {
    return sha256Hex(canonicalExchange(asSent(v)));
  } catch {
    return UNENCODABLE_HASH;
  }
}

/** The longest an answer waits for its audit: a database that stalls must not hold every audited agent with it. */
export const AUDIT_WAIT_LIMIT_MS = 10_000;

/**
 * Records the GraphQL operations of the configured agents (API key account names, DIDs, or the
 * names DIDs were registered under), whichever transport brought them: operation name and type,
 * SHA-256 of the document text, of the RFC 8785 variables and of the RFC 8785 response, the
 * duration, and who. A subscription is audited as it starts, before any of its events leave, its
 * response then being none (RFC 8785 `null`), or the errors that refused it as it started. Concurrent audits share the ledger's group commit. A failed audit is
 * logged, never shown: the operation has already run, and its client gets its answer.
 *
 * With `waitMs` > 0, `record` resolves once the audit is committed, and the transports hold the
 * answer until then: a crash of this process never loses the audit of an answered operation, for
 * one group commit of latency on the audited agents' operations only. An audit still pending
 * after `waitMs` lets the answer go, with a warning. With 0, `record` resolves at once, and a
 * process killed between answer and commit loses that audit.
 *
 * @example
 *   const auditor = new OperationAuditor(provenance, new Set(['deploy-agent']), 'main', log, AUDIT_WAIT_LIMIT_MS);
 *   if (auditor.audits(principal)) await auditor.record(principal, { operationName, operationType, query, variables, result, durationMs });
 */
export class OperationAuditor {
  constructor(
    private readonly provenance: ProvenanceService,
    private readonly agents: ReadonlySet<string>,
    private readonly ledger: string,
    private readonly log: Logger,
    private readonly waitMs: number,
  ) {}

  audits(p: Principal): boolean {
    if (p.kind === 'anonymous') return false;
    return this.agents.has(p.account) || (p.kind === 'did' && p.keyId !== undefined && this.agents.has(p.keyId));
  }

  /** Never rejects: a failure is logged. */
  record(principal: Principal, op: ServedOperation): Promise<void> {
    let appended: Promise<void>;
    try {
      const input = {
        principal: principal.account,
        operationName: op.operationName,
        operationType: op.operationType,
        documentHash: sha256Hex(op.query),
        variablesHash: exchangeHash(op.variables ?? {}),
        resultHash: exchangeHash(op.result),
        durationMs: op.durationMs,
      };
      appended = this.provenance.recordOperation(this.ledger, input).then(
        () => undefined,
        (err) => this.log.error({ err, principal: principal.account }, 'operation audit was not recorded'),
      );
    } catch (err) {
      this.log.error({ err, principal: principal.account }, 'operation audit was not recorded');
      return Promise.resolve();
    }
    if (this.waitMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ principal: principal.account, waitMs: this.waitMs }, 'operation answered before its audit committed: the audit is still pending');
        resolve();
      }, this.waitMs);
      void appended.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** The auditor on Apollo's HTTP path: the response is hashed as it is about to be sent (Apollo awaits this hook before sending). */
export function operationAuditPlugin(auditor: OperationAuditor): ApolloServerPlugin<{ principal: Principal }> {
  return {
    async requestDidStart({ contextValue }) {
      const principal = contextValue.principal;
      if (!auditor.audits(principal)) return;
      const started = performance.now();
      return {
        async willSendResponse({ request, response, operation, operationName, source }) {
          await auditor.record(principal, {
            operationName: operationName ?? request.operationName ?? null,
            operationType: operation?.operation ?? null,
            // `source`, not `request.query`: a persisted query's request carries only its hash.
            query: source ?? request.query ?? '',
            variables: request.variables,
            result: response.body.kind === 'single' ? response.body.singleResult : { incremental: true },
            durationMs: performance.now() - started,
          });
        },
      };
    },
  };
}
