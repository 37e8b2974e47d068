import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { transientDatabaseError } from '../../src/db/transient.js';

describe('a database condition that passes', () => {
  it('is UNAVAILABLE whether PostgreSQL said so or the driver could not reach it', async () => {
    // Nothing listens on port 9: what a client sees while PostgreSQL restarts.
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:9/postgres' });
    const refused = await client.connect().catch((e: unknown) => e);
    expect(transientDatabaseError(refused)?.code).toBe('UNAVAILABLE');
    for (const e of [
      Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' }),
      { driverError: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) },
      new Error('Connection terminated unexpectedly'),
      { driverError: new Error('timeout exceeded when trying to connect') },
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    ]) {
      expect(transientDatabaseError(e)?.code, String((e as Error).message ?? '')).toBe('UNAVAILABLE');
    }
    for (const e of [Object.assign(new Error('duplicate key'), { code: '23505' }), new Error('something else'), null]) {
      expect(transientDatabaseError(e)).toBeUndefined();
    }
  });
});
