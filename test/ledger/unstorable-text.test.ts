import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstorableInputError } from '../../src/db/transient.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

// Callers past GraphQL's own input check (the CLI, MCP tools) reach the service with any text.
let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  await t.service.append('main', [{ type: 'x', actor: 'a' }]);
});
afterAll(async () => t?.close());

describe('text PostgreSQL cannot store, given to the ledger service', () => {
  it('a ledger name is no ledger; filter strings and checkpoint labels are bad input; nothing is sealed', async () => {
    await expect(t.service.head('ma\u0000in')).rejects.toMatchObject({ code: 'UNKNOWN_LEDGER' });
    for (const filter of [{ actor: 'a\u0000' }, { types: ['x', 'y\u0000'] }, { correlationId: '\ud800' }]) {
      await expect(t.service.events('main', filter, { first: 5 }), JSON.stringify(filter)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    await expect(t.service.createCheckpoint('main', 'n\u0000')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(t.service.createCheckpoint('main', 'ok', ['t\u0000'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await t.service.block('main')).toBeNull();
  });

  it('and what still reaches PostgreSQL is answered as the caller\'s error', async () => {
    const refused = await t.db.dataSource.query(`SELECT $1::text`, ['a\u0000']).catch((e: unknown) => e);
    expect(unstorableInputError(refused)?.code).toBe('BAD_USER_INPUT');
    expect(unstorableInputError(new Error('other'))).toBeUndefined();
  });
});
