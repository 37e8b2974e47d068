import { MAX_DIFFICULTY_BITS } from './header.js';

export interface DifficultyParams {
  minDifficulty: number;
  maxDifficulty: number;
  /** Intended time between consecutive blocks. */
  targetBlockMs: number;
  /** Retarget every this many blocks; at least 2 so a window contains an interval. */
  retargetBlocks: number;
  initialDifficulty: number;
}

export interface RecentBlock {
  timestamp: number;
  difficulty: number;
}

/*
 * Retarget rule (deterministic, so a verifier recomputes it from the chain alone):
 *
 * - Genesis (height 0) uses initialDifficulty.
 * - A block at height h > 0 inherits the difficulty of block h-1, except when
 *   h % retargetBlocks === 0. Then, with R = retargetBlocks, the window is blocks h-R .. h-1 and
 *     span   = timestamp(h-1) - timestamp(h-R)       (R-1 block intervals)
 *     target = targetBlockMs * (R-1)
 *   span < target/2 -> difficulty(h-1) + 1 (blocks came more than twice too fast)
 *   span > target*2 -> difficulty(h-1) - 1 (blocks came more than twice too slow)
 *   otherwise       -> difficulty(h-1)
 * - The result is always clamped to [minDifficulty, maxDifficulty].
 *
 * One bit per retarget halves or doubles the expected work, which is the smallest step a
 * leading-zero-bits target can take; the 2x dead band keeps it from oscillating around the target.
 * Timestamps are taken as given: a non-increasing window counts as "fast" (span < target/2).
 * Producers never date a block before its predecessor, and the verifier flags one that is
 * (BLOCK_TIME), as it does one dated more than a few minutes after its own clock or after the
 * signed time of a checkpoint naming it: a rewrite of the unsigned tail can still date blocks
 * late, but no later than the present.
 */

export function assertDifficultyParams(p: DifficultyParams): void {
  const ints: (keyof DifficultyParams)[] = ['minDifficulty', 'maxDifficulty', 'initialDifficulty', 'targetBlockMs', 'retargetBlocks'];
  for (const k of ints) {
    if (!Number.isSafeInteger(p[k]) || p[k] < 0) throw new RangeError(`${k} must be a non-negative safe integer, got ${p[k]}`);
  }
  if (p.minDifficulty > p.maxDifficulty) throw new RangeError('minDifficulty must not exceed maxDifficulty');
  if (p.maxDifficulty > MAX_DIFFICULTY_BITS) throw new RangeError(`maxDifficulty must be at most ${MAX_DIFFICULTY_BITS}`);
  if (p.targetBlockMs < 1) throw new RangeError('targetBlockMs must be positive');
  if (p.retargetBlocks < 2) throw new RangeError('retargetBlocks must be at least 2');
}

/**
 * Inclusive range of block heights whose headers nextDifficulty needs for the block at `height`:
 * null for genesis (none), [h-R, h-1] at a retarget height, otherwise [h-1, h-1].
 */
export function retargetWindow(p: DifficultyParams, height: number): { from: number; to: number } | null {
  assertDifficultyParams(p);
  if (!Number.isSafeInteger(height) || height < 0) throw new RangeError(`height must be a non-negative safe integer, got ${height}`);
  if (height === 0) return null;
  if (height % p.retargetBlocks === 0) return { from: height - p.retargetBlocks, to: height - 1 };
  return { from: height - 1, to: height - 1 };
}

/**
 * Expected difficulty of the block at `height`. `recent` is in ascending height order and must
 * end with block height-1; only its last (to - from + 1) entries, per retargetWindow, are read,
 * so passing a longer suffix of the chain is fine. Ignored for genesis.
 */
export function nextDifficulty(p: DifficultyParams, height: number, recent: readonly RecentBlock[]): number {
  const window = retargetWindow(p, height);
  const clamp = (d: number) => Math.min(p.maxDifficulty, Math.max(p.minDifficulty, d));
  if (!window) return clamp(p.initialDifficulty);

  const needed = window.to - window.from + 1;
  if (recent.length < needed) {
    throw new RangeError(`block ${height} needs headers ${window.from}..${window.to} (${needed}), got ${recent.length}`);
  }
  const blocks = recent.slice(recent.length - needed);
  for (const b of blocks) {
    if (!Number.isSafeInteger(b.timestamp) || !Number.isSafeInteger(b.difficulty)) {
      throw new TypeError('recent blocks need integer timestamp and difficulty');
    }
  }
  const previous = blocks[blocks.length - 1]!.difficulty;
  if (needed === 1) return clamp(previous);

  const span = blocks[blocks.length - 1]!.timestamp - blocks[0]!.timestamp;
  const target = p.targetBlockMs * (p.retargetBlocks - 1);
  // Compare doubled values so no division (and no rounding) is involved.
  if (span * 2 < target) return clamp(previous + 1);
  if (span > target * 2) return clamp(previous - 1);
  return clamp(previous);
}
