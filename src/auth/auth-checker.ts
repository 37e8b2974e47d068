import type { AuthCheckerFn } from 'type-graphql';
import { forbidden, unauthenticated } from './errors.js';
import { grants, type Principal, type Role } from './roles.js';

/**
 * The one place that decides who may call what. Every query, mutation and subscription
 * names the role it needs with `@Authorized(role)`; reads pass anonymously when public.
 */
export function authChecker(publicReads: boolean): AuthCheckerFn<{ principal: Principal }, Role> {
  return ({ context }, roles) => {
    const required = roles[0] ?? 'reader';
    if (required === 'reader' && publicReads) return true;
    const held = context.principal.role;
    if (held === null) throw unauthenticated();
    if (!roles.some((r) => grants(held, r))) throw forbidden(roles.join(' or '));
    return true;
  };
}
