import canonicalize from 'canonicalize';
import type { DataSource } from 'typeorm';
import type { LedgerRow } from '../ledger/entities/index.js';
import { EVENT_COLUMNS, eventFromRow, type RawEventRow } from '../ledger/sequencer.js';
import { GOVERNANCE_SUBSYSTEM } from '../governance/events.js';
import { Contracts, evaluateTrigger, learn } from './evaluate.js';
import { RULES_SUBSYSTEM, type RulesPayloads } from './events.js';
import type { ActionEffects } from './firing.js';

export interface RulesReplayReport {
  ok: boolean;
  eventsReplayed: number;
  firings: number;
  /** Firings the replay and the ledger disagree on: missing, unexpected, or different. */
  mismatches: Array<{ contractId: string; triggerIndex: number; kind: 'missing' | 'unexpected' | 'different'; recorded?: unknown; replayed?: unknown }>;
}

const PAGE = 1_000;
const text = (v: unknown) => (canonicalize as unknown as (v: unknown) => string)(v);

/**
 * Re-runs every contract over the ledger from the start, on the same evaluation path as the
 * consumer, and compares each firing with the recorded ContractExecuted (contract, trigger,
 * depth, outcome, every action with its amounts). Depth is rebuilt from the ledger: a mint a
 * firing wrote names its trigger in `source`.
 */
export async function replayRules(ds: DataSource, ledger: LedgerRow, effects: ActionEffects): Promise<RulesReplayReport> {
  const contracts = new Contracts();
  const depthById = new Map<string, number>();
  const expected = new Map<string, string>();
  const report: RulesReplayReport = { ok: true, eventsReplayed: 0, firings: 0, mismatches: [] };
  const [cursor] = await ds.query(`SELECT position FROM rules_cursor WHERE ledger_id = $1`, [ledger.id]);
  const settledTo = cursor ? Number(cursor.position) : -1;
  let compileErrors = 0;
  for (let after = -1; ;) {
    const rows: RawEventRow[] = await ds.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idx > $2 ORDER BY idx LIMIT ${PAGE}`, [ledger.id, after]);
    for (const r of rows) {
      const e = eventFromRow(ledger.name, r);
      after = e.index;
      if (e.origin !== ledger.origin) continue; // a synced copy: another node's contracts ran on it
      report.eventsReplayed++;
      if (e.subsystem === RULES_SUBSYSTEM) {
        learn(contracts, e, () => compileErrors++);
        if (e.type === 'ContractExecuted') {
          const p = e.payload as RulesPayloads['ContractExecuted'];
          const key = `${p.contractId}:${p.triggerIndex}`;
          const want = expected.get(key);
          expected.delete(key);
          // A firing whose append was refused is recorded as failed on purpose; the replay cannot reproduce the refusal.
          const refused = p.error?.startsWith('append refused:') === true;
          if (want === undefined) report.mismatches.push({ contractId: p.contractId, triggerIndex: p.triggerIndex, kind: 'unexpected', recorded: p });
          else if (want !== text(p) && !refused) report.mismatches.push({ contractId: p.contractId, triggerIndex: p.triggerIndex, kind: 'different', recorded: p, replayed: JSON.parse(want) });
        }
        continue;
      }
      const depth = derivedDepth(e, depthById);
      const candidates = contracts.candidates(e.type);
      if (!candidates) continue;
      for (const { c, f } of await evaluateTrigger(ds, ledger.id, candidates, e, depth, effects)) {
        report.firings++;
        expected.set(`${c.id}:${e.index}`, text(f.inputs[0]!.payload));
      }
    }
    if (rows.length < PAGE) break;
  }
  for (const [key, want] of expected) {
    const [contractId, triggerIndex] = key.split(':') as [string, string];
    // Triggers past the consumer's cursor are not settled yet: not a mismatch.
    if (Number(triggerIndex) <= settledTo) report.mismatches.push({ contractId, triggerIndex: Number(triggerIndex), kind: 'missing', replayed: JSON.parse(want) });
  }
  report.ok = report.mismatches.length === 0 && compileErrors === 0;
  return report;
}

function derivedDepth(e: { id: string; subsystem: string | null; type: string; payload: unknown }, depthById: Map<string, number>): number {
  // A firing's governance events (mints, parameter changes, proposals) name their trigger in `source`.
  const source = e.subsystem === GOVERNANCE_SUBSYSTEM ? (e.payload as { source?: unknown }).source : undefined;
  const m = typeof source === 'string' && /^contract:[0-9a-f]{64}:([0-9a-f]{64})$/.exec(source);
  if (!m) return 0;
  const depth = (depthById.get(m[1]!) ?? 0) + 1;
  depthById.set(e.id, depth);
  return depth;
}
