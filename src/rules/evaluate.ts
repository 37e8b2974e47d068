import type { DataSource } from 'typeorm';
import type { LedgerEvent } from '../ledger/events/event.js';
import { computeAggregates } from './aggregates.js';
import type { ContractDefinition, RulesPayloads } from './events.js';
import { fire, type EventInput, type Firing, type ActionEffects } from './firing.js';
import { contractRuntime, eventInput, triggers, type ContractRuntime } from './runtime.js';

/**
 * The one evaluation path, shared by the consumer and replay, so a replay re-runs exactly
 * what ran live. Everything it reads is fixed by the ledger prefix up to the trigger.
 */
export type Contracts = Map<string, ContractRuntime>;

export function addContract(contracts: Contracts, id: string, index: number, def: ContractDefinition, active: boolean, onError: (err: unknown) => void): void {
  try {
    contracts.set(id, contractRuntime(id, index, def, active));
  } catch (err) {
    // Checked at creation; only a changed evaluator could refuse it now.
    onError(err);
  }
}

/** Contract events change the set from the next event on. */
export function learn(contracts: Contracts, e: LedgerEvent, onError: (err: unknown) => void): void {
  if (e.type === 'ContractCreated') {
    const p = e.payload as RulesPayloads['ContractCreated'];
    addContract(contracts, e.id, e.index, p, p.active, onError);
  } else if (e.type === 'ContractActiveSet') {
    const p = e.payload as RulesPayloads['ContractActiveSet'];
    const c = contracts.get(p.contractId);
    if (c) c.active = p.active;
  } else if (e.type === 'ContractParametersSet') {
    const p = e.payload as RulesPayloads['ContractParametersSet'];
    const c = contracts.get(p.contractId);
    if (c) addContract(contracts, c.id, c.index, { ...c.def, parameters: p.parameters }, c.active, onError);
  }
}

export async function evaluateTrigger(ds: DataSource, ledgerId: number, contracts: Contracts, e: LedgerEvent, depth: number, effects: ActionEffects): Promise<Array<{ c: ContractRuntime; f: Firing }>> {
  const firings: Array<{ c: ContractRuntime; f: Firing }> = [];
  let event: EventInput | undefined;
  for (const c of contracts.values()) {
    if (!triggers(c, e) || (await capped(ds, c, e))) continue;
    event ??= bind(e);
    const values = c.aggregates.length ? await computeAggregates(ds, ledgerId, e, c.aggregates) : NO_AGGREGATES;
    const f = fire(c, e, event, depth, values, effects);
    if (f) firings.push({ c, f });
  }
  return firings;
}

const NO_AGGREGATES: ReadonlyMap<string, number> = new Map();

function bind(e: LedgerEvent): EventInput {
  try {
    return { input: eventInput(e) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The reward-farming guard: at most `maxFiringsPerActor` successful firings per trigger actor in the window. */
async function capped(ds: DataSource, c: ContractRuntime, e: LedgerEvent): Promise<boolean> {
  const cap = c.def.limits.maxFiringsPerActor;
  if (cap === null) return false;
  const [row] = await ds.query(
    `SELECT count(*) AS n FROM rules_executions WHERE contract_id = $1 AND trigger_actor = $2 AND trigger_ms > $3 AND trigger_idx < $4 AND ok`,
    [c.id, e.actor, e.hlc.physicalMs - c.def.limits.windowSeconds * 1000, e.index],
  );
  return Number(row.n) >= cap;
}
