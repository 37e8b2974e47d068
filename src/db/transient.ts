import { ChainproofError } from '../errors.js';

/**
 * PostgreSQL conditions that pass, which a client should retry rather than report: a lock
 * not granted within lock_timeout (55P03), a cancelled statement (57014), a server shutting
 * down or starting (57P01–57P03), too many connections (53300), a connection that failed or
 * was lost (08000, 08001, 08003, 08006), a serialization failure or deadlock (40001, 40P01).
 * Takes the driver's error or TypeORM's wrapper of it.
 *
 * @example transientDatabaseError(Object.assign(new Error('…'), { code: '55P03' }))?.code // 'UNAVAILABLE'
 */
export function transientDatabaseError(e: unknown): ChainproofError | undefined {
  const err = e as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = typeof err?.code === 'string' ? err.code : err?.driverError?.code;
  if (typeof code !== 'string' || !/^(55P03|57014|57P0[123]|53300|0800[0136]|40001|40P01)$/.test(code)) return undefined;
  return new ChainproofError('UNAVAILABLE', `the database cannot serve this right now (${code}); retry`, { cause: e });
}
