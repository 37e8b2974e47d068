import { GENESIS_PREVIOUS_HASH, assertDifficultyParams, blockHash, headerOfStored, meetsDifficulty, nextDifficulty, type DifficultyParams, type RecentBlock } from '../blocks/index.js';
import type { LedgerRow } from '../entities/index.js';
import type { IssueCollector } from './issues.js';

export const VERIFY_BLOCK_COLUMNS =
  'height, hash, previous_hash, events_root, start_index, tree_size, tree_root, timestamp_ms, difficulty, nonce, ' +
  'min_difficulty, max_difficulty, target_block_ms, retarget_blocks';

export interface VerifyBlockRow {
  height: string;
  hash: Buffer;
  previous_hash: Buffer;
  events_root: Buffer;
  start_index: string;
  tree_size: string;
  tree_root: Buffer;
  timestamp_ms: string;
  difficulty: number;
  nonce: string;
  min_difficulty: number | null;
  max_difficulty: number | null;
  target_block_ms: number | null;
  retarget_blocks: number | null;
}

export interface Block {
  height: number;
  hash: Buffer;
  previousHash: Buffer;
  eventsRoot: Buffer;
  start: number;
  treeSize: number;
  treeRoot: Buffer;
  timestamp: number;
  difficulty: number;
  nonce: number;
  /** The retarget settings the block says it was mined under; null for blocks mined before they were kept. */
  settings: Omit<DifficultyParams, 'initialDifficulty'> | null;
}

export function toBlock(r: VerifyBlockRow): Block {
  return {
    height: Number(r.height),
    hash: r.hash,
    previousHash: r.previous_hash,
    eventsRoot: r.events_root,
    start: Number(r.start_index),
    treeSize: Number(r.tree_size),
    treeRoot: r.tree_root,
    timestamp: Number(r.timestamp_ms),
    difficulty: r.difficulty,
    nonce: Number(r.nonce),
    settings:
      r.min_difficulty === null || r.max_difficulty === null || r.target_block_ms === null || r.retarget_blocks === null
        ? null
        : { minDifficulty: r.min_difficulty, maxDifficulty: r.max_difficulty, targetBlockMs: r.target_block_ms, retargetBlocks: r.retarget_blocks },
  };
}

/**
 * The retarget rule's settings for a block: those it was mined under (governance may have changed
 * the ledger's since), else the ledger's. The initial difficulty never changes.
 */
export function difficultyParamsOf(b: Pick<Block, 'settings'>, ledger: DifficultyParams): DifficultyParams {
  const s = b.settings ?? ledger;
  return { minDifficulty: s.minDifficulty, maxDifficulty: s.maxDifficulty, targetBlockMs: s.targetBlockMs, retargetBlocks: s.retargetBlocks, initialDifficulty: ledger.initialDifficulty };
}

const GENESIS_PREVIOUS = Buffer.from(GENESIS_PREVIOUS_HASH, 'hex');

/**
 * How far a block's date may run ahead of a clock that vouches for it: the verifier's own, or
 * the signed time of a checkpoint that names the block. Processes sharing a database date their
 * blocks by their own clocks, hence the slack. A block dated further ahead came from a clock gone
 * wrong or from a rewrite of the unsigned tail: late dates stretch a retarget window, and so
 * lower the difficulty the rule gives the blocks after it.
 */
export const BLOCK_CLOCK_ALLOWANCE_MS = 5 * 60_000;

/** A block dated past `clockMs` (the verifier's clock, or a checkpoint's time) by more than the allowance. */
export function datedAhead(b: { height: number; timestamp: number }, clockMs: number, clock: string, issues: IssueCollector): void {
  if (b.timestamp > clockMs + BLOCK_CLOCK_ALLOWANCE_MS) {
    issues.block('BLOCK_TIME', b.height, `block ${b.height}: dated ${b.timestamp}, ${b.timestamp - clockMs} ms after ${clock} (${clockMs})`);
  }
}

/**
 * Everything about a block that needs no event: it follows `prev` (the stored block before
 * it in height order, undefined for the first) and is not dated before it nor ahead of `nowMs`
 * (the verifier's clock, read once per verification) by more than the allowance, its stored hash is
 * the hash of its header, the hash meets the difficulty, the difficulty is what the retarget
 * rule gives, and its range starts where the previous one ended and stays inside the head.
 * `recent` holds the blocks before it, ascending (enough for the retarget window). Returns
 * whether the range is sound (only then are its roots worth computing).
 */
export function checkBlockHeader(
  b: Block,
  prev: Block | undefined,
  recent: readonly RecentBlock[],
  ledger: LedgerRow,
  headSize: number,
  nowMs: number,
  issues: IssueCollector,
): boolean {
  const h = b.height;
  datedAhead(b, nowMs, "this verifier's clock", issues);
  if (!prev) {
    if (h !== 0) issues.block('BLOCK_LINK', h, `block ${h} is the first block; ${h === 1 ? 'block 0 is' : `blocks 0..${h - 1} are`} missing`);
    if (!b.previousHash.equals(GENESIS_PREVIOUS)) {
      issues.block('BLOCK_LINK', h, `block ${h}: previous hash is ${b.previousHash.toString('hex')}, but the first block must link to ${GENESIS_PREVIOUS_HASH}`);
    }
  } else {
    if (h !== prev.height + 1) {
      const gone = h - 1 === prev.height + 1 ? `block ${h - 1} is` : `blocks ${prev.height + 1}..${h - 1} are`;
      issues.block('BLOCK_LINK', h, h > prev.height ? `block ${h} follows block ${prev.height}: ${gone} missing` : `block ${h} follows block ${prev.height}`);
    }
    if (!b.previousHash.equals(prev.hash)) {
      issues.block('BLOCK_LINK', h, `block ${h}: previous hash is ${b.previousHash.toString('hex')}, but block ${prev.height} has hash ${prev.hash.toString('hex')}`);
    }
    // The retarget rule takes timestamps as given, so backdating is a way to steer it; producers
    // never date a block before the one it follows, so only a rewrite can.
    if (b.timestamp < prev.timestamp) {
      issues.block('BLOCK_TIME', h, `block ${h}: timestamp ${b.timestamp} is before block ${prev.height}'s ${prev.timestamp}`);
    }
  }

  let computed: Buffer | undefined;
  try {
    computed = blockHash(headerOfStored({ ...b, timestampMs: b.timestamp }));
  } catch (e) {
    issues.block('BLOCK_HASH', h, `block ${h}: header cannot be hashed: ${(e as Error).message}`);
  }
  if (computed) {
    if (!computed.equals(b.hash)) {
      issues.block('BLOCK_HASH', h, `block ${h}: stored hash ${b.hash.toString('hex')} is not the hash of its header (${computed.toString('hex')})`);
    }
    if (!meetsDifficulty(computed, b.difficulty)) {
      issues.block('BLOCK_POW', h, `block ${h}: header hash ${computed.toString('hex')} does not have ${b.difficulty} leading zero bits (nonce ${b.nonce})`);
    }
  }

  // The retarget rule reads the chain before this block; with blocks missing it has no answer.
  const params = difficultyParamsOf(b, ledger);
  let settingsOk = true;
  try {
    assertDifficultyParams(params);
  } catch (e) {
    settingsOk = false;
    issues.block('BLOCK_DIFFICULTY', h, `block ${h}: the retarget settings it names are not valid: ${(e as Error).message}`);
  }
  if (settingsOk && (!prev || prev.height === h - 1)) {
    let expected: number | undefined;
    try {
      expected = nextDifficulty(params, h, recent);
    } catch {
      expected = undefined;
    }
    if (expected !== undefined && expected !== b.difficulty) {
      issues.block('BLOCK_DIFFICULTY', h, `block ${h}: difficulty is ${b.difficulty}, but the retarget rule gives ${expected}`);
    }
  }

  const start = prev ? prev.treeSize : 0;
  const problems: string[] = [];
  if (b.start !== start) problems.push(`starts at event ${b.start}, but ${prev ? `block ${prev.height} ends at ${start}` : 'the first block must start at 0'}`);
  if (!(b.treeSize > b.start)) problems.push(`covers no events ([${b.start}, ${b.treeSize}))`);
  if (b.treeSize > headSize) problems.push(`ends at ${b.treeSize}, beyond the ${headSize} events of the head`);
  if (problems.length > 0) issues.block('BLOCK_RANGE', h, `block ${h} ${problems.join('; ')}`);
  return problems.length === 0;
}
