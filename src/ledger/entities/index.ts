import { BlockRow } from './block.entity.js';
import { CheckpointRow } from './checkpoint.entity.js';
import { EventRow } from './event.entity.js';
import { LedgerHeadRow } from './ledger-head.entity.js';
import { LedgerRow } from './ledger.entity.js';
import { TreeNodeRow } from './tree-node.entity.js';

export { BlockRow, CheckpointRow, EventRow, LedgerHeadRow, LedgerRow, TreeNodeRow };
export const ledgerEntities = [LedgerRow, LedgerHeadRow, EventRow, TreeNodeRow, BlockRow, CheckpointRow];
