import { describe, expect, it } from 'vitest';
import { authChecker, mayReadLedger, requireLedgerRead } from '../../src/auth/auth-checker.js';
import { assertMayRecordFor, grants, isRole, ROLES, type Principal, type Role } from '../../src/auth/roles.js';

/** The code of the error `f` throws, or undefined if it throws none. */
function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

/** What each role may do, as the roles' documentation says: a ladder, and validator beside it. */
const MAY: Record<Role, Role[]> = {
  reader: ['reader'],
  writer: ['reader', 'writer'],
  governor: ['reader', 'writer', 'governor'],
  admin: ['reader', 'writer', 'governor', 'admin', 'validator'],
  validator: ['reader', 'validator'],
};

describe('roles', () => {
  it.each(ROLES)('%s grants what its place on the ladder gives it, and nothing more', (held) => {
    for (const required of ROLES) {
      expect(grants(held, required), `${held} → ${required}`).toBe(MAY[held].includes(required));
    }
  });

  it('are only the five names, spelt exactly', () => {
    for (const r of ROLES) expect(isRole(r)).toBe(true);
    for (const s of ['Admin', 'root', 'owner', '', 'admin ', 'readers']) expect(isRole(s), s).toBe(false);
  });
});

describe('a principal bound to agents', () => {
  const key = (agents?: string[]): Principal => ({ kind: 'api-key', account: 'k', role: 'writer', keyId: 'key_1', ...(agents ? { agents } : {}) });
  const did = (agents: string[]): Principal => ({ kind: 'did', account: 'did:key:z6Mk', role: 'writer', keyId: 'n', agents });

  it('records each of its agents\' audits', () => {
    const p = key(['deployment-agent', 'canary-agent']);
    expect(() => assertMayRecordFor(p, 'deployment-agent')).not.toThrow();
    expect(() => assertMayRecordFor(p, 'canary-agent')).not.toThrow();
  });

  it('records no other agent\'s, not even one whose id starts or ends like its own', () => {
    const p = key(['canary-agent']);
    for (const other of ['billing-agent', 'canary-agent-2', 'canary', 'Canary-agent', 'x-canary-agent', '', undefined, null, 7]) {
      expect(() => assertMayRecordFor(p, other), String(other)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    }
  });

  it('is refused by what it is: a key names its agent, a DID its agent count', () => {
    expect(() => assertMayRecordFor(key(['canary-agent']), 'billing-agent')).toThrow(/this key records query audits of agent "canary-agent" only, not of "billing-agent"/);
    expect(() => assertMayRecordFor(did(['a', 'b']), 'c')).toThrow(/this DID records query audits of its 2 agents only/);
  });

  it('an unbound one records any agent\'s', () => {
    for (const a of ['billing-agent', 'canary-agent', '']) expect(() => assertMayRecordFor(key(), a)).not.toThrow();
  });
});

describe('the auth checker', () => {
  type Check = (args: Record<string, unknown>, roles: string[], role: Role | null) => unknown;
  const checkerWith = (publicReads: boolean): Check => {
    const check = authChecker(publicReads);
    return (args, roles, role) => check({ context: { principal: { kind: role ? 'api-key' : 'anonymous', account: 'x', role } }, args, root: {}, info: {} as never }, roles as Role[]);
  };

  it('lets anyone read when reads are public, but only admins read the system ledger', () => {
    const check = checkerWith(true);
    expect(check({ ledger: 'main' }, ['reader'], null)).toBe(true);
    expect(check({}, [], null)).toBe(true);
    expect(code(() => check({ ledger: 'system' }, ['reader'], null))).toBe('UNAUTHENTICATED');
    for (const role of ['reader', 'writer', 'governor', 'validator'] as const) {
      expect(code(() => check({ ledger: 'system' }, ['reader'], role)), role).toBe('FORBIDDEN');
    }
    expect(check({ ledger: 'system' }, ['reader'], 'admin')).toBe(true);
  });

  it('asks for a key to read when reads are not public, and takes any role\'s', () => {
    const check = checkerWith(false);
    expect(code(() => check({ ledger: 'main' }, ['reader'], null))).toBe('UNAUTHENTICATED');
    expect(code(() => check({}, [], null))).toBe('UNAUTHENTICATED');
    for (const role of ROLES) expect(check({ ledger: 'main' }, ['reader'], role), role).toBe(true);
  });

  it('refuses a field\'s role to anonymous callers as unauthenticated and to weaker roles as forbidden, whether reads are public or not', () => {
    for (const publicReads of [true, false]) {
      const check = checkerWith(publicReads);
      expect(code(() => check({}, ['writer'], null))).toBe('UNAUTHENTICATED');
      expect(code(() => check({}, ['writer'], 'reader'))).toBe('FORBIDDEN');
      expect(code(() => check({}, ['writer'], 'validator'))).toBe('FORBIDDEN');
      expect(check({}, ['writer'], 'writer')).toBe(true);
      expect(check({}, ['writer'], 'governor')).toBe(true);
      expect(code(() => check({}, ['governor'], 'writer'))).toBe('FORBIDDEN');
      expect(code(() => check({}, ['admin'], 'governor'))).toBe('FORBIDDEN');
      expect(check({}, ['admin'], 'admin')).toBe(true);
    }
  });

  it('passes a caller holding any one of a field\'s roles', () => {
    const check = checkerWith(true);
    expect(check({}, ['governor', 'validator'], 'validator')).toBe(true);
    expect(check({}, ['governor', 'validator'], 'governor')).toBe(true);
    expect(code(() => check({}, ['governor', 'validator'], 'writer'))).toBe('FORBIDDEN');
  });
});

describe('reading a ledger named otherwise than by a ledger argument', () => {
  const as = (role: Role | null): Principal => ({ kind: role ? 'api-key' : 'anonymous', account: 'x', role });

  it('is open to anyone for an ordinary ledger, and to admins alone for the system ledger', () => {
    for (const role of [null, ...ROLES]) {
      expect(mayReadLedger(as(role), 'main'), String(role)).toBe(true);
      expect(code(() => requireLedgerRead(as(role), 'main')), String(role)).toBeUndefined();
      expect(mayReadLedger(as(role), 'system'), String(role)).toBe(role === 'admin');
    }
    expect(code(() => requireLedgerRead(as('admin'), 'system'))).toBeUndefined();
  });

  it('refuses the system ledger to anonymous callers as unauthenticated and to other roles as forbidden', () => {
    expect(code(() => requireLedgerRead(as(null), 'system'))).toBe('UNAUTHENTICATED');
    for (const role of ['reader', 'writer', 'governor', 'validator'] as const) {
      expect(code(() => requireLedgerRead(as(role), 'system')), role).toBe('FORBIDDEN');
    }
  });
});
