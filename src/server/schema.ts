import { buildSchema, type PubSub } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { authChecker } from '../auth/auth-checker.js';
import { resolvers } from '../resolvers/index.js';

/**
 * Every subscription supplies its own `subscribe` (it reads the ledger bus and, with a
 * cursor, the database). type-graphql still insists on a topic PubSub; this one refuses
 * use, so a subscription added without `subscribe` fails loudly instead of never firing.
 */
const noTopicPubSub: PubSub = {
  publish() {
    throw new Error('Chainproof subscriptions publish through the ledger bus, not type-graphql topics');
  },
  subscribe() {
    throw new Error('Chainproof subscriptions must define their own subscribe function');
  },
};

export function buildChainproofSchema(options: { publicReads: boolean }): Promise<GraphQLSchema> {
  return buildSchema({ resolvers, validate: false, pubSub: noTopicPubSub, authChecker: authChecker(options.publicReads) });
}
