import { LedgerCore1732000000000 } from './1732000000000-LedgerCore.js';

/** In order. Listed by hand: ESM builds cannot glob-load migration classes reliably. */
export const migrations = [LedgerCore1732000000000];
