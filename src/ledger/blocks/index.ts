export {
  GENESIS_PREVIOUS_HASH,
  MAX_DIFFICULTY_BITS,
  assertValidHeader,
  assertValidTemplate,
  blockHash,
  canonicalHeader,
  headerOfStored,
  leadingZeroBits,
  meetsDifficulty,
  type BlockHeader,
  type BlockTemplate,
  type StoredBlockHeader,
} from './header.js';
export {
  assertDifficultyParams,
  nextDifficulty,
  retargetWindow,
  type DifficultyParams,
  type RecentBlock,
} from './retarget.js';
export { Miner, type MineResult, type MinerOptions } from './miner.js';
