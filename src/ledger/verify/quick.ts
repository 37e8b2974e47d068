import { retargetWindow, type RecentBlock } from '../blocks/index.js';
import type { LedgerRow } from '../entities/index.js';
import type { VerifierKey } from '../note/index.js';
import { consistencyProof, rootAt, subtreeRoot, treeHasher, verifyConsistency, type NodeRef, type TreeHasher } from '../merkle/index.js';
import { checkBlockHeader, difficultyParamsOf, toBlock, VERIFY_BLOCK_COLUMNS, type Block, type VerifyBlockRow } from './block-check.js';
import {
  checkCheckpointBlock,
  checkCheckpointNote,
  serverDidsOf,
  VERIFY_CHECKPOINT_COLUMNS,
  type VerifyCheckpointRow,
} from './checkpoint-check.js';
import { EventChecker, VERIFY_EVENT_COLUMNS, type CheckedEvent, type VerifyEventRow } from './event-check.js';
import type { Counts } from './full.js';
import { readHead, type HeadRow } from './head.js';
import type { IssueCollector } from './issues.js';
import { reportUnsequenced } from './sequence-check.js';
import type { Snapshot } from './snapshot.js';
import { MissingNodes, TailTree } from './tail-tree.js';
import { fetchNodes, leafRange } from './tree-check.js';

/** How many of the newest events quick mode re-hashes. */
export const QUICK_TAIL = 100;

export interface QuickOptions {
  verifierKeys: readonly VerifierKey[];
  onProgress?: (done: number, total: number) => void;
}

/**
 * Quick verification checks the head only: the newest events, the stored tree around them,
 * the head row, the last block and the last checkpoint (and its consistency with the one
 * before) — a fixed number of small queries whatever the ledger's size.
 */
export async function verifyQuick(db: Snapshot, ledger: LedgerRow, opts: QuickOptions, issues: IssueCollector, counts: Counts): Promise<void> {
  const head = await readHead(db, ledger.id);
  if (!head) {
    issues.add('HEAD_MISMATCH', {}, `ledger ${ledger.name} has no head row`);
    return;
  }
  counts.treeSize = head.treeSize;
  const hasher = treeHasher(ledger.hashAlg);
  const tree = await checkTail(db, ledger, hasher, head, opts.verifierKeys, issues, counts);
  // With events missing from the tail, the tail's subtrees cannot be recomputed.
  const sound = tree.leavesComplete;
  if (sound) {
    await guarded(issues, () => checkStoredTail(db, ledger.id, tree.reader, issues));
    await guarded(issues, () => checkHead(ledger, hasher, head, tree.reader, issues));
  }
  await guarded(issues, () => checkLastBlock(db, ledger, head.treeSize, sound ? tree.reader : undefined, issues, counts));
  await guarded(issues, () => checkLastCheckpoints(db, ledger, head.treeSize, sound ? tree.reader : undefined, opts.verifierKeys, issues, counts));
  opts.onProgress?.(counts.events, counts.events);
}

/** Turns a stored node that a root needed but is gone into the issue it is. */
async function guarded(issues: IssueCollector, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (e) {
    if (!(e instanceof MissingNodes)) throw e;
    for (const r of e.refs) {
      const [from, to] = leafRange(r.level, r.index);
      issues.event('TREE_MISMATCH', from, `tree node (level ${r.level}, index ${r.index}) over leaves [${from}, ${to}) is missing`);
    }
  }
}

async function checkTail(
  db: Snapshot,
  ledger: LedgerRow,
  hasher: TreeHasher,
  head: HeadRow,
  verifierKeys: readonly VerifierKey[],
  issues: IssueCollector,
  counts: Counts,
): Promise<{ reader: TailTree; leavesComplete: boolean }> {
  const n = head.treeSize;
  const start = Math.max(0, n - QUICK_TAIL);
  const rows = await db.query<VerifyEventRow>(
    `SELECT ${VERIFY_EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
    [ledger.id, start, n],
  );
  const checker = new EventChecker(ledger, hasher, issues, serverDidsOf(verifierKeys));
  const leaves: Array<Buffer | undefined> = new Array(n - start);
  const checked: Array<{ index: number; ev: CheckedEvent }> = [];
  let expected = start;
  for (const row of rows) {
    const index = Number(row.idx);
    if (index > expected) issues.event('SEQUENCE_GAP', expected, index - 1 === expected ? `event ${expected} is missing` : `events ${expected}..${index - 1} are missing`);
    expected = index + 1;
    const ev = checker.check(row, index);
    leaves[index - start] = ev.id;
    checked.push({ index, ev });
    counts.events++;
  }
  if (expected < n) issues.event('SEQUENCE_GAP', expected, n - 1 === expected ? `event ${expected} is missing` : `events ${expected}..${n - 1} are missing`);
  await reportUnsequenced(db, ledger.id, n, issues);

  await checkTailParents(db, ledger.id, checked, issues);
  const reader = new TailTree(db, ledger.id, hasher, start, leaves);
  return { reader, leavesComplete: checked.length === n - start };
}

/** Parents of the tail events exist, come earlier and have earlier HLCs. */
async function checkTailParents(db: Snapshot, ledgerId: number, checked: Array<{ index: number; ev: CheckedEvent }>, issues: IssueCollector): Promise<void> {
  const known = new Map<string, { index: number; hlcMs: number; hlcLogical: number }>();
  for (const { index, ev } of checked) known.set(ev.id.toString('hex'), { index, hlcMs: ev.hlcMs, hlcLogical: ev.hlcLogical });
  const unknown = new Set<string>();
  for (const { ev } of checked) {
    for (let off = 0; off < ev.parents.length; off += 32) {
      const id = ev.parents.toString('hex', off, off + 32);
      if (!known.has(id)) unknown.add(id);
    }
  }
  if (unknown.size > 0) {
    const rows = await db.query<{ idx: string; id: Buffer; hlc_ms: string; hlc_logical: number }>(
      `SELECT idx, id, hlc_ms, hlc_logical FROM events WHERE ledger_id = $1 AND id = ANY($2::bytea[])`,
      [ledgerId, [...unknown].map((h) => Buffer.from(h, 'hex'))],
    );
    for (const r of rows) known.set(r.id.toString('hex'), { index: Number(r.idx), hlcMs: Number(r.hlc_ms), hlcLogical: r.hlc_logical });
  }
  for (const { index, ev } of checked) {
    for (let off = 0; off < ev.parents.length; off += 32) {
      const id = ev.parents.toString('hex', off, off + 32);
      const parent = known.get(id);
      if (!parent) {
        issues.event('MISSING_PARENT', index, `event ${index}: parent ${id} is not in the ledger`);
      } else if (parent.index >= index) {
        issues.event('PARENT_ORDER', index, `event ${index}: parent ${id} comes later, at index ${parent.index}`);
      } else if (ev.hlcMs < parent.hlcMs || (ev.hlcMs === parent.hlcMs && ev.hlcLogical <= parent.hlcLogical)) {
        issues.event(
          'HLC_ORDER',
          index,
          `event ${index}: hlc ${ev.hlcMs}.${ev.hlcLogical} is not after its parent ${parent.index}'s hlc ${parent.hlcMs}.${parent.hlcLogical}`,
        );
      }
    }
  }
}

/** Stored nodes lying wholly inside the tail equal the ones its leaves give. */
async function checkStoredTail(db: Snapshot, ledgerId: number, tail: TailTree, issues: IssueCollector): Promise<void> {
  const ranges: Array<{ level: number; lo: number; hi: number }> = [];
  for (let level = 1, width = 2; width <= tail.end - tail.start; level++, width *= 2) {
    const lo = Math.ceil(tail.start / width);
    const hi = Math.floor(tail.end / width);
    if (lo < hi) ranges.push({ level, lo, hi });
  }
  const rows = await fetchNodes(db, ledgerId, ranges);
  const stored = new Map(rows.map((r) => [`${r.level}:${r.idx}`, r.hash]));
  for (const { level, lo, hi } of ranges) {
    for (let idx = lo; idx < hi; idx++) {
      const hash = stored.get(`${level}:${idx}`);
      const computed = tail.node(level, idx);
      if (hash && hash.equals(computed)) continue;
      const [from, to] = leafRange(level, idx);
      issues.event(
        'TREE_MISMATCH',
        from,
        hash
          ? `tree node (level ${level}, index ${idx}) over leaves [${from}, ${to}) is ${hash.toString('hex')}; the leaves give ${computed.toString('hex')}`
          : `tree node (level ${level}, index ${idx}) over leaves [${from}, ${to}) is missing`,
      );
    }
  }
}

async function checkHead(ledger: LedgerRow, hasher: TreeHasher, head: HeadRow, tree: TailTree, issues: IssueCollector): Promise<void> {
  const n = head.treeSize;
  const problems: string[] = [];
  const root = await rootAt(tree, hasher, n);
  if (!root.equals(head.rootHash)) problems.push(`root is ${head.rootHash.toString('hex')}, the stored tree gives ${root.toString('hex')}`);
  // The frontier is the tree's maximal full subtrees, largest first.
  const refs: NodeRef[] = [];
  let offset = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (n - offset >= width) {
      refs.push({ level, index: offset / width });
      offset += width;
    }
  }
  const frontier = Buffer.concat(await tree.getNodes(refs));
  if (!frontier.equals(head.frontier)) problems.push('frontier is not the right edge of the stored tree');
  const tips = head.tips;
  if (n > 0 && (tips.length < 32 || tips.length % 32 !== 0 || !tips.subarray(tips.length - 32).equals(tree.node(0, n - 1)))) {
    problems.push(`the newest event ${n - 1} is not the last tip`);
  }
  if (problems.length > 0) issues.add('HEAD_MISMATCH', {}, `head of ${ledger.name}: ${problems.join('; ')}`);
}

async function checkLastBlock(
  db: Snapshot,
  ledger: LedgerRow,
  headSize: number,
  tree: TailTree | undefined,
  issues: IssueCollector,
  counts: Counts,
): Promise<void> {
  const [lastRow] = await db.query<VerifyBlockRow>(
    `SELECT ${VERIFY_BLOCK_COLUMNS} FROM blocks WHERE ledger_id = $1 ORDER BY height DESC LIMIT 1`,
    [ledger.id],
  );
  if (!lastRow) return;
  const last = toBlock(lastRow);
  let window: ReturnType<typeof retargetWindow> = null;
  try {
    window = last.height > 0 ? retargetWindow(difficultyParamsOf(last, ledger), last.height) : null;
  } catch {
    // Settings that are not valid: checkBlockHeader names them.
  }
  const before = window
    ? (
        await db.query<VerifyBlockRow>(
          `SELECT ${VERIFY_BLOCK_COLUMNS} FROM blocks WHERE ledger_id = $1 AND height < $2 ORDER BY height DESC LIMIT ${last.height - window.from}`,
          [ledger.id, last.height],
        )
      )
        .map(toBlock)
        .reverse()
    : [];
  const prev: Block | undefined = before[before.length - 1];
  const recent: RecentBlock[] = before.map((b) => ({ timestamp: b.timestamp, difficulty: b.difficulty }));
  const rangeOk = checkBlockHeader(last, prev, recent, ledger, headSize, Date.now(), issues);
  counts.blocks++;
  if (!tree) return;
  const hasher = treeHasher(ledger.hashAlg);
  const h = last.height;
  if (last.treeSize <= headSize) {
    const root = await rootAt(tree, hasher, last.treeSize);
    if (!root.equals(last.treeRoot)) {
      issues.block('BLOCK_TREE_ROOT', h, `block ${h}: tree root ${last.treeRoot.toString('hex')} is not the root of the first ${last.treeSize} events (${root.toString('hex')})`);
    }
  }
  if (rangeOk) {
    const root = await subtreeRoot(tree, hasher, last.start, last.treeSize);
    if (!root.equals(last.eventsRoot)) {
      issues.block(
        'BLOCK_EVENTS_ROOT',
        h,
        `block ${h}: events root ${last.eventsRoot.toString('hex')} is not the root of its events [${last.start}, ${last.treeSize}) (${root.toString('hex')})`,
      );
    }
  }
}

/**
 * The last checkpoint (largest tree size, then newest): its note, signature, block and root,
 * and its consistency with the ones before it — any other at the same size (equal roots) and
 * the newest at a smaller size (an RFC 9162 consistency proof from the stored tree).
 */
async function checkLastCheckpoints(
  db: Snapshot,
  ledger: LedgerRow,
  headSize: number,
  tree: TailTree | undefined,
  verifierKeys: readonly VerifierKey[],
  issues: IssueCollector,
  counts: Counts,
): Promise<void> {
  const rows = await db.query<VerifyCheckpointRow>(
    `(SELECT ${VERIFY_CHECKPOINT_COLUMNS} FROM checkpoints WHERE ledger_id = $1 ORDER BY tree_size DESC, id DESC LIMIT 2)
     UNION ALL
     (SELECT ${VERIFY_CHECKPOINT_COLUMNS} FROM checkpoints
       WHERE ledger_id = $1 AND tree_size < (SELECT max(tree_size) FROM checkpoints WHERE ledger_id = $1)
       ORDER BY tree_size DESC, id DESC LIMIT 1)`,
    [ledger.id],
  );
  const unique = rows.filter((r, i) => rows.findIndex((o) => o.id === r.id) === i);
  if (unique.length === 0) return;
  const heads = unique.map((r) => checkCheckpointNote(r, ledger, verifierKeys, issues));
  counts.checkpoints += unique.length;
  const last = heads[0];
  if (last) {
    const [block] = await db.query<{ height: string; hash: Buffer; tree_size: string; timestamp_ms: string }>(
      `SELECT height, hash, tree_size, timestamp_ms FROM blocks WHERE ledger_id = $1 AND height = $2`,
      [ledger.id, last.blockHeight],
    );
    checkCheckpointBlock(
      last,
      block && { height: Number(block.height), hash: block.hash, treeSize: Number(block.tree_size), timestamp: Number(block.timestamp_ms) },
      issues,
    );
  }
  if (!tree || !last) return;
  const hasher = treeHasher(ledger.hashAlg);
  const rootOk = new Map<number, boolean>();
  for (const h of heads) {
    if (!h) continue;
    if (h.treeSize > headSize) {
      issues.checkpoint('CHECKPOINT_ROOT', h.id, `checkpoint ${h.id} signs a tree of ${h.treeSize} events, but the ledger has ${headSize}`);
      rootOk.set(h.id, false);
      continue;
    }
    const root = await rootAt(tree, hasher, h.treeSize);
    rootOk.set(h.id, root.equals(h.rootHash));
    if (!rootOk.get(h.id)) {
      issues.checkpoint('CHECKPOINT_ROOT', h.id, `checkpoint ${h.id} signs root ${h.rootHash.toString('hex')} for ${h.treeSize} events, but they give ${root.toString('hex')}`);
    }
  }
  for (const prev of heads.slice(1)) {
    if (!prev || last.treeSize > headSize || prev.treeSize > last.treeSize) continue;
    let consistent: boolean;
    if (prev.treeSize === last.treeSize) consistent = prev.rootHash.equals(last.rootHash);
    else if (prev.treeSize === 0) consistent = true;
    else {
      const proof = await consistencyProof(tree, hasher, prev.treeSize, last.treeSize);
      consistent = verifyConsistency(ledger.hashAlg, prev.treeSize, last.treeSize, prev.rootHash, last.rootHash, proof);
    }
    if (consistent) continue;
    // Blame the one the ledger's own tree disowns.
    const culprit = rootOk.get(last.id) === false || rootOk.get(prev.id) !== false ? last : prev;
    issues.checkpoint(
      'CHECKPOINT_INCONSISTENT',
      culprit.id,
      prev.treeSize === last.treeSize
        ? `checkpoints ${prev.id} and ${last.id} both sign a tree of ${last.treeSize} events, with different roots`
        : `checkpoints ${prev.id} (size ${prev.treeSize}) and ${last.id} (size ${last.treeSize}) are not consistent: the consistency proof between them does not verify`,
    );
  }
}
