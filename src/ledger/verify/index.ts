import type { DataSource } from 'typeorm';
import type { LedgerRow } from '../entities/index.js';
import { parseTrustedKeys } from './checkpoint-check.js';
import { verifyFull, type Counts } from './full.js';
import { IssueCollector, IssueLimitReached } from './issues.js';
import { verifyQuick } from './quick.js';
import { openSnapshot } from './snapshot.js';
import type { VerificationReport, VerifyOptions } from './types.js';

export type { IssueKind, VerificationIssue, VerificationReport, VerifyOptions } from './types.js';
export { QUICK_TAIL } from './quick.js';
export { DEFAULT_PAGE_SIZE } from './full.js';

export const DEFAULT_MAX_ISSUES = 100;

/**
 * Checks a ledger against everything its stored hashes, signatures and proofs of work
 * promise (DESIGN §2, Verification), in one consistent database snapshot.
 *
 * - Full mode streams every event, tree node, block and checkpoint, recomputing the tree.
 * - Quick mode checks the head: the newest events, the head row, the last block and the
 *   last checkpoint with its consistency proof from the one before.
 *
 * Each issue names the event index, block height or checkpoint id at fault. Verification
 * stops once `maxIssues` (default 100) are found.
 */
export async function verifyLedger(ds: DataSource, ledger: LedgerRow, opts: VerifyOptions): Promise<VerificationReport> {
  const started = performance.now();
  const verifierKeys = parseTrustedKeys(opts.verifierKeys ?? []);
  const maxIssues = opts.maxIssues ?? DEFAULT_MAX_ISSUES;
  const issues = new IssueCollector(maxIssues);
  const counts: Counts = { treeSize: 0, events: 0, blocks: 0, checkpoints: 0 };
  const snapshot = await openSnapshot(ds);
  try {
    const o = { verifierKeys, onProgress: opts.onProgress, pageSize: opts.pageSize, contentWorker: opts.contentWorker, maxIssues };
    if (opts.full) await verifyFull(snapshot, ledger, o, issues, counts);
    else await verifyQuick(snapshot, ledger, o, issues, counts);
  } catch (e) {
    if (!(e instanceof IssueLimitReached)) throw e;
  } finally {
    await snapshot.close();
  }
  return {
    ledger: ledger.name,
    mode: opts.full ? 'FULL' : 'QUICK',
    status: issues.count === 0 ? 'VALID' : 'INVALID',
    treeSize: counts.treeSize,
    eventsVerified: counts.events,
    blocksVerified: counts.blocks,
    checkpointsVerified: counts.checkpoints,
    issues: issues.issues,
    durationMs: Math.round(performance.now() - started),
    signaturesChecked: verifierKeys.length > 0,
  };
}
