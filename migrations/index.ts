import { LedgerCore1732000000000 } from './1732000000000-LedgerCore.js';
import { ApiKeys1732100000000 } from './1732100000000-ApiKeys.js';

/** In order. Listed by hand: ESM builds cannot glob-load migration classes reliably. */
export const migrations = [LedgerCore1732000000000, ApiKeys1732100000000];
