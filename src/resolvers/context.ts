import type { ApiKeyService } from '../auth/api-keys.js';
import type { KnownDidService } from '../auth/known-dids.js';
import type { GovernanceService } from '../governance/governance-service.js';
import type { CosignatureCollector } from '../witness/cosignatures.js';
import type { Principal } from '../auth/roles.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import type { ProvenanceService } from '../provenance/service.js';
import type { RulesService } from '../rules/rules-service.js';
import type { SyncService } from '../sync/sync-service.js';

/** What every resolver gets: the services and who is asking. */
export interface RequestContext {
  ledger: LedgerService;
  keys: ApiKeyService;
  dids: KnownDidService;
  governance: GovernanceService;
  cosignatures: CosignatureCollector;
  provenance: ProvenanceService;
  rules: RulesService;
  sync: SyncService;
  principal: Principal;
  requestId: string;
  /** The origin a pulling peer names itself by (a header; attacker-controlled, used only to count). */
  peerOrigin?: string;
}
