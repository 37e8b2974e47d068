import type { EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { RULES_SUBSYSTEM, type RulesPayloads } from './events.js';

/**
 * Folds `rules` events into the projection tables inside the append's transaction (a thrown
 * error refuses the append). The consumer's firings also carry `cursor`: the trigger index
 * the append settles, checked and moved here under the ledger's head lock.
 */
export async function projectRules(tx: EntityManager, events: readonly LedgerEvent[], derived?: { ledgerId: number; triggerIndex: number; depth: number }): Promise<void> {
  if (derived) await moveCursor(tx, derived.ledgerId, derived.triggerIndex);
  for (const e of events) {
    if (e.subsystem !== RULES_SUBSYSTEM) {
      if (derived) await tx.query(`INSERT INTO rules_derived (idx, depth) VALUES ($1, $2)`, [e.index, derived.depth]);
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
      const [row] = await tx.query(
        `UPDATE rules_contracts SET definition = jsonb_set(definition, '{parameters}', $2::jsonb) WHERE id = $1 RETURNING id`,
        [p.contractId, JSON.stringify(p.parameters)],
      );
      if (!row) throw new ChainproofError('NOT_FOUND', `no contract ${p.contractId}`);
      await tx.query(`INSERT INTO rules_contract_params (contract_id, idx, parameters) VALUES ($1, $2, $3)`, [p.contractId, e.index, JSON.stringify(p.parameters)]);
    } else if (e.type === 'ContractExecuted') {
      const p = e.payload as RulesPayloads['ContractExecuted'];
      await tx.query(
        `INSERT INTO rules_executions (idx, event_id, contract_id, trigger_idx, trigger_id, trigger_actor, trigger_ms, ok, error, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [e.index, Buffer.from(e.id, 'hex'), p.contractId, p.triggerIndex, p.trigger, p.triggerActor, p.triggerMs, p.ok, p.error ?? null, JSON.stringify(p)],
      );
    }
  }
}

/**
 * The cursor only moves forward, one settled trigger at a time: a second process (or a
 * restarted one) that evaluated the same trigger finds it already settled and its append is
 * refused, so a firing is written at most once.
 */
async function moveCursor(tx: EntityManager, ledgerId: number, triggerIndex: number): Promise<void> {
  const [row] = await tx.query(`SELECT position FROM rules_cursor WHERE ledger_id = $1 FOR UPDATE`, [ledgerId]);
  const position = row ? Number(row.position) : -1;
  if (position >= triggerIndex) throw new ChainproofError('CONFLICT', `rules cursor is at ${position}; trigger ${triggerIndex} is already settled`);
  await tx.query(
    `INSERT INTO rules_cursor (ledger_id, position) VALUES ($1, $2) ON CONFLICT (ledger_id) DO UPDATE SET position = EXCLUDED.position`,
    [ledgerId, triggerIndex],
  );
}
