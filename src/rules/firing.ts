import type { AppendInput } from '../ledger/events/event.js';
import { celType, isCelMap, type CelValue } from './cel.js';
import { RULES_ACTOR, RULES_SUBSYSTEM, type ActionOutcome, type ProposalTemplate, type RulesPayloads } from './events.js';
import { toJson, type AggregateValues } from './expression.js';
import type { ContractRuntime, RuleEvent } from './runtime.js';
import type { CelInput } from './cel.js';

/** The trigger as expressions see it, or why it cannot be bound. */
export type EventInput = { input: CelInput } | { error: string };

/** Loops through token mints stop here: a firing caused by a firing caused by … this deep is recorded, not run. */
export const MAX_DEPTH = 4;

/**
 * The events of actions that belong to governance, built (and checked) by it. Each throws a
 * ChainproofError for a value it refuses, which fails that action alone.
 */
export interface ActionEffects {
  mint(actor: string, to: string, amount: string, reason: string, source: string): AppendInput;
  setParameter(actor: string, ledger: string, name: string, value: string, source: string): AppendInput;
  openProposal(proposer: string, template: ProposalTemplate, source: string): AppendInput;
}

export interface Firing {
  contractId: string;
  /** ContractExecuted first (its parent is the trigger), then the events its actions wrote. */
  inputs: AppendInput[];
}

const executed = (c: ContractRuntime, trigger: RuleEvent, depth: number, outcome: { error?: string; actions: ActionOutcome[] }): AppendInput => {
  const payload: RulesPayloads['ContractExecuted'] = {
    contractId: c.id,
    trigger: trigger.id,
    triggerIndex: trigger.index,
    triggerActor: trigger.actor,
    triggerMs: trigger.hlc.physicalMs,
    depth,
    ok: outcome.error === undefined && outcome.actions.every((a) => a.ok),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    actions: outcome.actions,
  };
  return { type: 'ContractExecuted', actor: RULES_ACTOR, resource: `contract/${c.id}`, subsystem: RULES_SUBSYSTEM, parents: [trigger.id], payload };
};

/**
 * Evaluates one contract on its trigger. Null when the condition is false; otherwise the
 * events to append. A failing action is recorded in the execution and writes nothing;
 * the others still run.
 */
export function fire(c: ContractRuntime, trigger: RuleEvent, event: EventInput, triggerDepth: number, aggregates: AggregateValues, effects: ActionEffects): Firing | null {
  const depth = triggerDepth + 1;
  const done = (outcome: { error?: string; actions: ActionOutcome[] }, extra: AppendInput[] = []): Firing =>
    ({ contractId: c.id, inputs: [executed(c, trigger, depth, outcome), ...extra] });
  if ('error' in event) return done({ error: event.error, actions: [] });
  const bindings = { event: event.input, contract: c.contractInput };
  const cond = c.condition.evaluate(bindings, aggregates);
  if ('error' in cond) return done({ error: `condition: ${cond.error}`, actions: [] });
  if (cond.value !== true) {
    if (c.def.boolCondition && typeof cond.value !== 'boolean') return done({ error: `condition: evaluated to ${celType(cond.value).name}, not bool`, actions: [] });
    return null;
  }
  if (depth > MAX_DEPTH) return done({ error: `depth limit: this trigger is ${triggerDepth} firings deep; the limit is ${MAX_DEPTH}`, actions: [] });

  const source = `contract:${c.id}:${trigger.id}`;
  const outcomes: ActionOutcome[] = [];
  const inputs: AppendInput[] = [];
  const value = (i: number, j: number): CelValue => {
    const r = c.actions[i]!.exprs[j]!.evaluate(bindings, aggregates);
    if ('error' in r) throw new Error(r.error);
    return r.value;
  };
  c.actions.forEach(({ action }, i) => {
    try {
      if (action.kind === 'mintTokens') {
        const to = value(i, 0);
        if (typeof to !== 'string') throw new Error('to must evaluate to a string');
        const amount = String(toJson(value(i, 1)));
        inputs.push(effects.mint(`contract:${c.id}`, to, amount, action.reason, source));
        outcomes.push({ kind: action.kind, ok: true, detail: { to, amount } });
      } else if (action.kind === 'raiseAlert') {
        const payload: RulesPayloads['AlertRaised'] = { contractId: c.id, trigger: trigger.id, severity: action.severity, message: action.message };
        inputs.push({ type: 'AlertRaised', actor: RULES_ACTOR, resource: `contract/${c.id}`, subsystem: RULES_SUBSYSTEM, payload });
        outcomes.push({ kind: action.kind, ok: true, detail: { severity: action.severity } });
      } else if (action.kind === 'setParameter') {
        const v = toJson(value(i, 0));
        if (typeof v !== 'number' && typeof v !== 'string') throw new Error('valueExpr must evaluate to a whole number');
        const input = effects.setParameter(`contract:${c.id}`, action.ledger, action.name, String(v), source);
        const { value: set } = input.payload as { value: string };
        inputs.push(input);
        outcomes.push({ kind: action.kind, ok: true, detail: { ledger: action.ledger, name: action.name, value: set } });
      } else if (action.kind === 'openProposal') {
        inputs.push(effects.openProposal(RULES_ACTOR, action.template, source));
        outcomes.push({ kind: action.kind, ok: true, detail: { title: action.template.title, actions: action.template.actions.length } });
      } else {
        const payload = value(i, 0);
        if (!isCelMap(payload)) throw new Error('payloadExpr must evaluate to a map');
        inputs.push({ type: action.type, actor: `contract:${c.id}`, resource: `contract/${c.id}`, subsystem: RULES_SUBSYSTEM, payload: toJson(payload) });
        outcomes.push({ kind: action.kind, ok: true, detail: { type: action.type } });
      }
    } catch (e) {
      outcomes.push({ kind: action.kind, ok: false, error: (e as Error).message });
    }
  });
  return done({ actions: outcomes }, inputs);
}

/** The same firing with every action failed: written when the append of the real one is refused. */
export function failedFiring(c: ContractRuntime, trigger: RuleEvent, triggerDepth: number, error: string): Firing {
  return {
    contractId: c.id,
    inputs: [executed(c, trigger, triggerDepth + 1, { error: `append refused: ${error}`, actions: c.actions.map(({ action }) => ({ kind: action.kind, ok: false, error })) })],
  };
}
