import type { AuthCheckerFn } from 'type-graphql';
import type { RequestContext } from '../resolvers/context.js';
import { forbidden, unauthenticated } from './errors.js';
import { grants, type Role } from './roles.js';

/**
 * The one place that decides who may call what. Every query, mutation and subscription
 * names the role it needs with `@Authorized(role)`; reads pass anonymously when public.
 */
export function authChecker(publicReads: boolean): AuthCheckerFn<RequestContext, Role> {
  return ({ context }, roles) => {
    const required = roles[0] ?? 'reader';
    if (required === 'reader' && publicReads) return true;
    const held = context.principal.role;
    if (held === null) throw unauthenticated();
    if (!roles.some((r) => grants(held, r))) throw forbidden(roles.join(' or '));
    return true;
  };
}
