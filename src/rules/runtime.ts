import type { ContractDefinition, RuleAction } from './events.js';
import type { CelInput } from './cel.js';
import { compile, payloadInput, type Compiled } from './expression.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import type { AggregateCall } from './checker.js';

/** What the rules engine reads of an event: the consumer builds only this from a page of rows. */
export type RuleEvent = Pick<LedgerEvent, 'id' | 'index' | 'type' | 'actor' | 'author' | 'resource' | 'subsystem' | 'result' | 'payload' | 'hlc'>;

/** A contract compiled once, with the state the consumer tracks for it in ledger order. */
export interface ContractRuntime {
  id: string;
  /** Leaf index of its ContractCreated event: it applies to later events only. */
  index: number;
  def: ContractDefinition;
  active: boolean;
  condition: Compiled;
  actions: Array<{ action: RuleAction; exprs: Compiled[] }>;
  /** Every aggregate its expressions use, computed once per trigger. */
  aggregates: AggregateCall[];
  /** What expressions see as `contract`, built once. */
  contractInput: Record<string, CelInput>;
}

export function contractRuntime(id: string, index: number, def: ContractDefinition, active: boolean): ContractRuntime {
  const condition = compile(def.condition, ['bool'], 'condition');
  const actions = def.actions.map((action) => ({
    action,
    exprs: action.kind === 'mintTokens' ? [compile(action.to, ['string'], 'to'), compile(action.amountExpr, ['int', 'uint', 'string'], 'amountExpr')]
      : action.kind === 'appendEvent' ? [compile(action.payloadExpr, ['map'], 'payloadExpr')]
      : action.kind === 'setParameter' ? [compile(action.valueExpr, ['int', 'uint', 'string'], 'valueExpr')]
      : [],
  }));
  const aggregates = new Map<string, AggregateCall>();
  for (const c of [condition, ...actions.flatMap((a) => a.exprs)]) for (const a of c.aggregates) aggregates.set(a.key, a);
  const contractInput = { id, name: def.name, params: payloadInput(def.parameters) };
  return { id, index, def, active, condition, actions, aggregates: [...aggregates.values()], contractInput };
}

export function triggers(c: ContractRuntime, e: RuleEvent): boolean {
  const t = c.def.trigger;
  // The event type was matched by the index the candidates came from (see Contracts).
  return c.active && e.index > c.index
    && (t.subsystem === null || t.subsystem === e.subsystem) && (t.actor === null || t.actor === e.actor);
}

/**
 * What expressions see as `event`, built once per trigger for every contract. Throws (a
 * message for the execution record) when the payload is out of bounds.
 */
export function eventInput(e: RuleEvent): Record<string, CelInput> {
  return {
    id: e.id,
    index: BigInt(e.index),
    type: e.type,
    actor: e.actor,
    author: e.author,
    resource: e.resource,
    subsystem: e.subsystem,
    result: e.result,
    payload: payloadInput(e.payload ?? {}),
    hlc: { physicalMs: BigInt(e.hlc.physicalMs), logical: BigInt(e.hlc.logical) },
  };
}
