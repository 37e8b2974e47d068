import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { Principal } from '../auth/roles.js';
import { canonicalJson, sha256Hex } from './hashing.js';
import type { ProvenanceService } from './service.js';

/** A configured agent: an API key's account name, or a DID (or the name it was registered under). */
export function isAudited(p: Principal, agents: ReadonlySet<string>): boolean {
  if (p.kind === 'anonymous') return false;
  return agents.has(p.account) || (p.kind === 'did' && p.keyId !== undefined && agents.has(p.keyId));
}

/** JSON as the client receives it: what JSON.stringify drops (undefined) is not hashed either. */
const asSent = (v: unknown): unknown => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

/**
 * Records every GraphQL operation of the configured agents over HTTP: operation name and type,
 * SHA-256 of the document text, of the RFC 8785 variables and of the RFC 8785 response body,
 * the duration, and who. The append is started as the response goes out and never awaited,
 * so the client is not held up (concurrent audits share the ledger's group commit); a failed
 * audit is logged, never shown to the client.
 */
export function operationAuditPlugin(
  provenance: ProvenanceService,
  agents: ReadonlySet<string>,
  ledger: string,
  log: Logger,
): ApolloServerPlugin<{ principal: Principal }> {
  return {
    async requestDidStart({ contextValue }) {
      const principal = contextValue.principal;
      if (!isAudited(principal, agents)) return;
      const started = performance.now();
      return {
        async willSendResponse({ request, response, operation, operationName }) {
          const durationMs = performance.now() - started;
          try {
            const body = response.body.kind === 'single' ? response.body.singleResult : { incremental: true };
            const input = {
              principal: principal.account,
              operationName: operationName ?? request.operationName ?? null,
              operationType: operation?.operation ?? null,
              documentHash: sha256Hex(request.query ?? ''),
              variablesHash: sha256Hex(canonicalJson(asSent(request.variables ?? {}))),
              resultHash: sha256Hex(canonicalJson(asSent(body))),
              durationMs,
            };
            provenance.recordOperation(ledger, input).catch((err) => log.error({ err, principal: principal.account }, 'operation audit was not recorded'));
          } catch (err) {
            log.error({ err, principal: principal.account }, 'operation audit was not recorded');
          }
        },
      };
    },
  };
}
