import { ChainproofError } from '../errors.js';

/** SQLSTATEs of conditions that pass: see transientDatabaseError. */
const TRANSIENT_SQLSTATE = /^(55P03|57014|57P0[123]|53300|0800[0136]|40001|40P01)$/;
/** The driver's own codes for a server it cannot reach or lost (no SQLSTATE: PostgreSQL never answered). */
const NETWORK_ERRNO = /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/;
/** `pg` and `pg-pool` report a dropped connection or a pool that cannot connect by message alone. */
const LOST_CONNECTION = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * PostgreSQL conditions that pass, which a client should retry rather than report: a lock
 * not granted within lock_timeout (55P03), a cancelled statement (57014), a server shutting
 * down or starting (57P01–57P03), too many connections (53300), a connection that failed or
 * was lost (08000, 08001, 08003, 08006, or the driver's ECONNREFUSED, ECONNRESET… while the
 * server restarts), a serialization failure or deadlock (40001, 40P01). Takes the driver's
 * error or TypeORM's wrapper of it.
 *
 * @example transientDatabaseError(Object.assign(new Error('…'), { code: '55P03' }))?.code // 'UNAVAILABLE'
 */
export function transientDatabaseError(e: unknown): ChainproofError | undefined {
  const err = e as { code?: unknown; message?: unknown; driverError?: { code?: unknown; message?: unknown } } | null;
  const code = typeof err?.code === 'string' ? err.code : err?.driverError?.code;
  const message = typeof err?.driverError?.message === 'string' ? err.driverError.message : err?.message;
  let what: string;
  if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || NETWORK_ERRNO.test(code))) what = code;
  else if (typeof message === 'string' && LOST_CONNECTION.test(message)) what = 'connection lost';
  else return undefined;
  return new ChainproofError('UNAVAILABLE', `the database cannot serve this right now (${what}); retry`, { cause: e });
}

/**
 * A value PostgreSQL cannot hold as text (a NUL, or bytes not valid in its encoding: 22021,
 * 22P05) that reached a statement unchecked: the caller's input, so BAD_USER_INPUT, not an
 * internal error. The checks at the edges should leave nothing for this to catch.
 */
export function unstorableInputError(e: unknown): ChainproofError | undefined {
  const err = e as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = typeof err?.code === 'string' ? err.code : err?.driverError?.code;
  if (code !== '22021' && code !== '22P05') return undefined;
  return new ChainproofError('BAD_USER_INPUT', 'the input holds text the database cannot store (a NUL character?)', { cause: e });
}
