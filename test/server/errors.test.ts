import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ChainproofError } from '../../src/errors.js';
import { formatError } from '../../src/server/errors.js';

describe('formatError', () => {
  it('hides an unexpected error from the client and logs it with its cause', () => {
    const logged: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const log = { error: (fields: Record<string, unknown>, message: string) => void logged.push({ fields, message }) };
    const boom = new Error('relation "x" does not exist');
    const error = new GraphQLError(boom.message, { path: ['ledger'], originalError: boom });
    const out = formatError(false, log as never)(error.toJSON(), error);
    expect(out).toEqual({ message: 'internal server error', locations: undefined, path: ['ledger'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged).toEqual([{ fields: { err: boom, path: ['ledger'] }, message: 'internal error answering a request' }]);
  });

  it('passes a coded error through and logs nothing', () => {
    const logged: unknown[] = [];
    const log = { error: (...args: unknown[]) => void logged.push(args) };
    const refused = new ChainproofError('BAD_USER_INPUT', 'no');
    const error = new GraphQLError('no', { path: ['x'], originalError: refused });
    expect(formatError(false, log as never)(error.toJSON(), error).extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(logged).toEqual([]);
  });
});
