import type { EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { RULES_SUBSYSTEM, type RulesPayloads } from './events.js';

/** What the consumer's appends carry besides their events: the triggers they settle and each event's causal depth. */
export interface Settlement {
  ledgerId: number;
  /** The first trigger whose firings are in the append: the cursor must still be before it. */
  firstTrigger: number;
  /** Where the cursor moves: the last event evaluated. */
  to: number;
  /** Depth of each appended event, by position. */
  depths: number[];
}

/**
 * Folds `rules` events into the projection tables inside the append's transaction (a thrown
 * error refuses the append). The consumer's firings also carry a settlement, whose cursor
 * move is checked and made here under the ledger's head lock.
 */
export async function projectRules(tx: EntityManager, events: readonly LedgerEvent[], derived?: Settlement): Promise<void> {
  if (derived) await moveCursor(tx, derived.ledgerId, derived.firstTrigger, derived.to);
  const executions: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
  const derivedRows: number[][] = [[], []];
  for (const [i, e] of events.entries()) {
    if (e.subsystem !== RULES_SUBSYSTEM) {
      if (derived) {
        derivedRows[0]!.push(e.index);
        derivedRows[1]!.push(derived.depths[i]!);
      }
      continue;
    }
    if (e.type === 'ContractExecuted') {
      const p = e.payload as RulesPayloads['ContractExecuted'];
      const row = [e.index, Buffer.from(e.id, 'hex'), p.contractId, p.triggerIndex, p.trigger, p.triggerActor, p.triggerMs, p.ok, p.error ?? null, JSON.stringify(p)];
      row.forEach((v, k) => executions[k]!.push(v));
      continue;
    }
    if (e.type === 'ContractCreated') {
      const p = e.payload as RulesPayloads['ContractCreated'];
      await tx.query(
        `INSERT INTO rules_contracts (id, idx, name, definition, active, created_by, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [e.id, e.index, p.name, JSON.stringify(p), p.active, e.actor, e.hlc.physicalMs],
      );
    } else if (e.type === 'ContractActiveSet') {
      const p = e.payload as RulesPayloads['ContractActiveSet'];
      const [row] = await tx.query(`SELECT active FROM rules_contracts WHERE id = $1 FOR UPDATE`, [p.contractId]);
      if (!row) throw new ChainproofError('NOT_FOUND', `no contract ${p.contractId}`);
      if (row.active === p.active) throw new ChainproofError('CONFLICT', `contract ${p.contractId} is already ${p.active ? 'active' : 'inactive'}`);
      await tx.query(`UPDATE rules_contracts SET active = $2 WHERE id = $1`, [p.contractId, p.active]);
      await tx.query(`INSERT INTO rules_contract_changes (contract_id, idx, active) VALUES ($1, $2, $3)`, [p.contractId, e.index, p.active]);
    } else if (e.type === 'ContractParametersSet') {
      const p = e.payload as RulesPayloads['ContractParametersSet'];
      const [row] = await tx.query(`SELECT id FROM rules_contracts WHERE id = $1 FOR UPDATE`, [p.contractId]);
      if (!row) throw new ChainproofError('NOT_FOUND', `no contract ${p.contractId}`);
      await tx.query(`UPDATE rules_contracts SET definition = jsonb_set(definition, '{parameters}', $2::jsonb) WHERE id = $1`, [p.contractId, JSON.stringify(p.parameters)]);
      await tx.query(`INSERT INTO rules_contract_params (contract_id, idx, parameters) VALUES ($1, $2, $3)`, [p.contractId, e.index, JSON.stringify(p.parameters)]);
    }
  }
  // One statement per table, whatever the number of firings: this runs under the ledger's head lock.
  if (derivedRows[0]!.length > 0) await tx.query(`INSERT INTO rules_derived (idx, depth) SELECT * FROM unnest($1::bigint[], $2::integer[])`, derivedRows);
  if (executions[0]!.length > 0) {
    await tx.query(
      `INSERT INTO rules_executions (idx, event_id, contract_id, trigger_idx, trigger_id, trigger_actor, trigger_ms, ok, error, record)
       SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::boolean[], $9::text[], $10::jsonb[])`,
      executions,
    );
  }
}

/**
 * The cursor only moves forward, past the triggers an append settles: a second process (or a
 * restarted one) that evaluated the same triggers finds the first already settled and its
 * append is refused, so a firing is written at most once.
 */
async function moveCursor(tx: EntityManager, ledgerId: number, firstTrigger: number, to: number): Promise<void> {
  const [row] = await tx.query(`SELECT position FROM rules_cursor WHERE ledger_id = $1 FOR UPDATE`, [ledgerId]);
  const position = row ? Number(row.position) : -1;
  if (position >= firstTrigger) throw new ChainproofError('CONFLICT', `rules cursor is at ${position}; trigger ${firstTrigger} is already settled`);
  await tx.query(
    `INSERT INTO rules_cursor (ledger_id, position) VALUES ($1, $2) ON CONFLICT (ledger_id) DO UPDATE SET position = EXCLUDED.position`,
    [ledgerId, to],
  );
}
