import type { DataSource } from 'typeorm';
import { computeAggregates } from './aggregates.js';
import type { AggregateValues } from './expression.js';
import type { ContractDefinition, RulesPayloads } from './events.js';
import { fire, type ActionEffects, type EventInput, type Firing } from './firing.js';
import { contractRuntime, eventInput, triggers, type ContractRuntime, type RuleEvent } from './runtime.js';

/**
 * The one evaluation path, shared by the consumer and replay, so a replay re-runs exactly
 * what ran live. Everything it reads is fixed by the ledger prefix up to the trigger.
 */
export class Contracts {
  private readonly all = new Map<string, ContractRuntime>();
  /** Contracts by the event types they trigger on, in creation order: an event is shown only those. */
  private byType = new Map<string, ContractRuntime[]>();
  /** Candidate lists whose evaluation reads the database (aggregates, per-actor caps). */
  private reading = new Set<readonly ContractRuntime[]>();

  get size(): number {
    return this.all.size;
  }

  get(id: string): ContractRuntime | undefined {
    return this.all.get(id);
  }

  candidates(type: string): readonly ContractRuntime[] | undefined {
    return this.byType.get(type);
  }

  /** Whether evaluating these candidates reads the database; if not, `evaluateNow` evaluates them. */
  reads(candidates: readonly ContractRuntime[]): boolean {
    return this.reading.has(candidates);
  }

  /** Every event type some contract triggers on (active or not: activation is checked per event). */
  types(): string[] {
    return [...this.byType.keys()];
  }

  set(c: ContractRuntime): void {
    this.all.set(c.id, c);
    this.byType = new Map();
    for (const x of this.all.values()) {
      for (const t of x.def.trigger.eventTypes) {
        const list = this.byType.get(t);
        if (list) list.push(x);
        else this.byType.set(t, [x]);
      }
    }
    this.reading = new Set([...this.byType.values()].filter((list) => list.some((x) => x.aggregates.length > 0 || x.def.limits.maxFiringsPerActor !== null)));
  }
}

export function addContract(contracts: Contracts, id: string, index: number, def: ContractDefinition, active: boolean, onError: (err: unknown) => void): void {
  try {
    contracts.set(contractRuntime(id, index, def, active));
  } catch (err) {
    // Checked at creation; only a changed evaluator could refuse it now.
    onError(err);
  }
}

/** Contract events change the set from the next event on. */
export function learn(contracts: Contracts, e: RuleEvent, onError: (err: unknown) => void): void {
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

/**
 * Successful firings evaluated but not yet written (the consumer settles many triggers in one
 * append): the per-actor cap counts them as if they were in `rules_executions` already.
 */
export type PendingFirings = (c: ContractRuntime, actor: string, sinceMs: number) => number;

export async function evaluateTrigger(
  ds: DataSource, ledgerId: number, candidates: readonly ContractRuntime[], e: RuleEvent, depth: number, effects: ActionEffects, pending?: PendingFirings,
): Promise<Array<{ c: ContractRuntime; f: Firing }>> {
  const firings: Array<{ c: ContractRuntime; f: Firing }> = [];
  let event: EventInput | undefined;
  for (const c of candidates) {
    if (!triggers(c, e) || (await capped(ds, c, e, pending))) continue;
    event ??= bind(e);
    let values: AggregateValues = NO_AGGREGATES;
    try {
      if (c.aggregates.length) values = await computeAggregates(ds, ledgerId, e, c.aggregates);
    } catch (err) {
      // What the events hold made the aggregate fail (a data exception): it would fail again on every
      // retry and replay, so the firing is recorded as failed rather than hold up every later event.
      if (!String((err as { code?: unknown }).code ?? '').startsWith('22')) throw err;
      firings.push({ c, f: fire(c, e, { error: `aggregates: ${(err as Error).message}` }, depth, NO_AGGREGATES, effects)! });
      continue;
    }
    const f = fire(c, e, event, depth, values, effects);
    if (f) firings.push({ c, f });
  }
  return firings;
}

/** `evaluateTrigger` for candidates that read nothing from the database: no promise per event. */
export function evaluateNow(candidates: readonly ContractRuntime[], e: RuleEvent, depth: number, effects: ActionEffects): Array<{ c: ContractRuntime; f: Firing }> {
  const firings: Array<{ c: ContractRuntime; f: Firing }> = [];
  let event: EventInput | undefined;
  for (const c of candidates) {
    if (!triggers(c, e)) continue;
    event ??= bind(e);
    const f = fire(c, e, event, depth, NO_AGGREGATES, effects);
    if (f) firings.push({ c, f });
  }
  return firings;
}

const NO_AGGREGATES: AggregateValues = new Map();

function bind(e: RuleEvent): EventInput {
  try {
    return { input: eventInput(e) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The reward-farming guard: at most `maxFiringsPerActor` successful firings per trigger actor in the window. */
async function capped(ds: DataSource, c: ContractRuntime, e: RuleEvent, pending?: PendingFirings): Promise<boolean> {
  const cap = c.def.limits.maxFiringsPerActor;
  if (cap === null) return false;
  const since = e.hlc.physicalMs - c.def.limits.windowSeconds * 1000;
  const unwritten = pending?.(c, e.actor, since) ?? 0;
  if (unwritten >= cap) return true;
  const [row] = await ds.query(
    `SELECT count(*) AS n FROM rules_executions WHERE contract_id = $1 AND trigger_actor = $2 AND trigger_ms > $3 AND trigger_idx < $4 AND ok`,
    [c.id, e.actor, since, e.index],
  );
  return Number(row.n) + unwritten >= cap;
}
