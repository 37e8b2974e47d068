import type { LedgerService } from '../ledger/ledger-service.js';

/** What every resolver gets: the services and who is asking. */
export interface RequestContext {
  ledger: LedgerService;
  requestId: string;
}
