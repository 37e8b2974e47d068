import type { AuthCheckerFn } from 'type-graphql';
import { SYSTEM_LEDGER } from './api-keys.js';
import { forbidden, unauthenticated } from './errors.js';
import { grants, type Principal, type Role } from './roles.js';

/**
 * Ledgers only admins read, whatever a field asks for: `system` records who may do what (key
 * names, roles and key hashes, DIDs), which the admin-only `apiKeys` and `knownDids` show.
 * A hash of an operator-chosen admin key could be guessed offline.
 */
const ADMIN_ONLY_LEDGERS: ReadonlySet<string> = new Set([SYSTEM_LEDGER]);

/** Whether `principal` may read `ledger` (attacker-controlled): an admin-only ledger needs an admin. */
export function mayReadLedger(principal: Principal, ledger: string): boolean {
  return !ADMIN_ONLY_LEDGERS.has(ledger) || (principal.role !== null && grants(principal.role, 'admin'));
}

/**
 * The checker's rule, for a ledger a field names otherwise than by a `ledger` argument (the
 * `ledger` query's `name`): refused with the codes the checker gives.
 */
export function requireLedgerRead(principal: Principal, ledger: string): void {
  if (mayReadLedger(principal, ledger)) return;
  if (principal.role === null) throw unauthenticated();
  throw forbidden('admin');
}

/**
 * The one place that decides who may call what. Every query, mutation and subscription
 * names the role it needs with `@Authorized(role)`; reads pass anonymously when public. A
 * field's `ledger` argument (attacker-controlled, its default applied) naming an admin-only
 * ledger raises what it needs to `admin`.
 */
export function authChecker(publicReads: boolean): AuthCheckerFn<{ principal: Principal }, Role> {
  return ({ context, args }, roles) => {
    const adminOnly = typeof args?.ledger === 'string' && ADMIN_ONLY_LEDGERS.has(args.ledger);
    const required: Role[] = adminOnly ? ['admin'] : roles.length ? (roles as Role[]) : ['reader'];
    if (required[0] === 'reader' && publicReads) return true;
    const held = context.principal.role;
    if (held === null) throw unauthenticated();
    if (!required.some((r) => grants(held, r))) throw forbidden(required.join(' or '));
    return true;
  };
}
