import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { ArgumentValidationError } from 'type-graphql';
import { transientDatabaseError, unstorableInputError } from '../db/transient.js';
import { isChainproofError } from '../errors.js';

const LIMIT_CODES = new Set(['DEPTH_LIMIT', 'ALIAS_LIMIT', 'COST_LIMIT']);

/**
 * Turns any error into `message` + `extensions.code`. A ChainproofError keeps its own code; a
 * database condition that passes becomes UNAVAILABLE (logged as a warning); anything else
 * unexpected becomes INTERNAL_SERVER_ERROR with its message hidden from the client and
 * logged with its stack, which leaves the server only in development.
 */
export function formatError(development: boolean, log?: Pick<Logger, 'error' | 'warn'>) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    // A broken invariant of our own, coded where it was found: internal all the same.
    if (isChainproofError(original) && original.code === 'INTERNAL') {
      log?.error({ err: original, path: formatted.path }, 'internal error answering a request');
      return { ...base, message: development ? original.message : 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    }
    if (isChainproofError(original)) {
      return { ...base, message: original.message, extensions: { code: original.code, ...(original.details ?? {}) } };
    }
    if (original instanceof ArgumentValidationError) {
      return { ...base, extensions: { code: 'BAD_USER_INPUT' } };
    }
    const unstorable = unstorableInputError(original);
    if (unstorable) return { ...base, message: unstorable.message, extensions: { code: unstorable.code } };
    const transient = transientDatabaseError(original);
    if (transient) {
      log?.warn({ err: original, path: formatted.path }, 'database unavailable answering a request');
      return { ...base, message: transient.message, extensions: { code: transient.code } };
    }
    let code = (formatted.extensions?.code as string | undefined) ?? 'INTERNAL_SERVER_ERROR';
    // Apollo relabels every validation error; a limit rule's own code is the useful one.
    const innerCode = ((error as GraphQLError | undefined)?.originalError as GraphQLError | undefined)?.extensions?.code;
    if (typeof innerCode === 'string' && LIMIT_CODES.has(innerCode)) code = innerCode;
    if (code === 'GRAPHQL_PARSE_FAILED' && /contains more th(?:an|at) \d+ tokens/i.test(formatted.message)) code = 'TOKEN_LIMIT';
    // Apollo refuses some requests (a persisted query whose hash does not match, or of an unknown
    // version) with a 4xx status but no code: the client's mistake, answered as one, not logged as ours.
    if (code === 'INTERNAL_SERVER_ERROR' && isClientStatus(httpStatusOf(original) ?? httpStatusOf(error))) code = 'BAD_REQUEST';
    if (code === 'INTERNAL_SERVER_ERROR') {
      log?.error({ err: original, path: formatted.path }, 'internal error answering a request');
      if (!development) return { ...base, message: 'internal server error', extensions: { code } };
    }
    const extensions: Record<string, unknown> = { code };
    if (development && formatted.extensions?.stacktrace) extensions.stacktrace = formatted.extensions.stacktrace;
    return { ...base, extensions };
  };
}

const httpStatusOf = (e: unknown): number | undefined => ((e as GraphQLError | undefined)?.extensions?.http as { status?: unknown } | undefined)?.status as number | undefined;
const isClientStatus = (status: number | undefined): boolean => status !== undefined && status >= 400 && status < 500;

/** An error answered outside GraphQL execution (body, rate limit) in GraphQL's response shape, with its code. */
export function errorBody(message: string, code: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}
