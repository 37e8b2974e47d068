import { AnalyticsResolver } from './analytics.resolver.js';
import { ApiKeyResolver } from './api-key.resolver.js';
import { BlockResolver } from './block.resolver.js';
import { CheckpointResolver } from './checkpoint.resolver.js';
import { CosignatureResolver } from './cosignature.resolver.js';
import { EventResolver } from './event.resolver.js';
import { AccountResolver, GovernanceSubscriptionResolver, ProposalResolver } from './governance.resolver.js';
import { LedgerResolver } from './ledger.resolver.js';
import { ProofResolver } from './proof.resolver.js';
import { AssertionResolver, ProvenanceResolver } from './provenance.resolver.js';
import { ContractResolver, RulesSubscriptionResolver } from './rules.resolver.js';
import { SubscriptionResolver } from './subscription.resolver.js';
import { SyncResolver, SyncSubscriptionResolver } from './sync.resolver.js';

export const resolvers = [
  LedgerResolver,
  EventResolver,
  BlockResolver,
  CheckpointResolver,
  CosignatureResolver,
  ProofResolver,
  SubscriptionResolver,
  ApiKeyResolver,
  AnalyticsResolver,
  AccountResolver,
  ProposalResolver,
  GovernanceSubscriptionResolver,
  ProvenanceResolver,
  AssertionResolver,
  ContractResolver,
  RulesSubscriptionResolver,
  SyncResolver,
  SyncSubscriptionResolver,
] as const;
