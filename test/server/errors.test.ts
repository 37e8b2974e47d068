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

  it('answers our own INTERNAL error as any internal one: hidden, logged, INTERNAL_SERVER_ERROR', () => {
    const logged: unknown[] = [];
    const log = { error: (...args: unknown[]) => void logged.push(args) };
    const broken = new ChainproofError('INTERNAL', 'vote 00ff was appended without its projection');
    const error = new GraphQLError(broken.message, { path: ['castVote'], originalError: broken });
    expect(formatError(false, log as never)(error.toJSON(), error)).toMatchObject({ message: 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged).toHaveLength(1);
  });

  it('passes a coded error through and logs nothing', () => {
    const logged: unknown[] = [];
    const log = { error: (...args: unknown[]) => void logged.push(args) };
    const refused = new ChainproofError('BAD_USER_INPUT', 'no');
    const error = new GraphQLError('no', { path: ['x'], originalError: refused });
    expect(formatError(false, log as never)(error.toJSON(), error).extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(logged).toEqual([]);
  });

  it('answers a database condition that passes as UNAVAILABLE, to retry, and any other database error as internal', () => {
    const warned: unknown[] = [];
    const fmt = formatError(false, { error: () => undefined, warn: (...args: unknown[]) => void warned.push(args) } as never);
    const answer = (code: string, wrapped = false) => {
      const driver = Object.assign(new Error('canceling statement due to lock timeout'), { code });
      const original = wrapped ? Object.assign(new Error('query failed'), { driverError: driver }) : driver;
      const error = new GraphQLError(original.message, { path: ['appendEvent'], originalError: original });
      return fmt(error.toJSON(), error).extensions?.code;
    };
    for (const code of ['55P03', '57014', '57P01', '53300', '08006', '40001', '40P01']) expect([code, answer(code)]).toEqual([code, 'UNAVAILABLE']);
    expect(answer('55P03', true)).toBe('UNAVAILABLE');
    expect(warned).toHaveLength(8); // each logged, as a warning
    // Text the database cannot store came from the caller, past the checks at the edges.
    for (const code of ['22021', '22P05']) expect([code, answer(code)]).toEqual([code, 'BAD_USER_INPUT']);
    // A protocol violation is a bug, not a passing condition.
    for (const code of ['42P01', '23505', '08P01']) expect([code, answer(code)]).toEqual([code, 'INTERNAL_SERVER_ERROR']);
  });
});
