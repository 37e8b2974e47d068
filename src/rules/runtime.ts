import type { ContractDefinition, RuleAction } from './events.js';
import { celMap, type CelInput } from './cel.js';
import { checkPayload, compile, payloadInput, type Compiled } from './expression.js';
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
  contractInput: CelInput;
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
  const contractInput = celMap(new Map<string, CelInput>([['id', id], ['name', def.name], ['params', payloadInput(def.parameters)]]));
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
export function eventInput(e: RuleEvent): CelInput {
  checkPayload(e.payload ?? {});
  return celMap(new EventFields(e));
}

const EVENT_FIELDS = ['id', 'index', 'type', 'actor', 'author', 'resource', 'subsystem', 'result', 'payload', 'hlc'] as const;

/** A CEL map whose values are made when an expression reads them; subclasses name the keys and make a value. */
abstract class LazyFields implements ReadonlyMap<string, CelInput> {
  protected abstract keyList(): readonly string[];
  abstract has(k: string): boolean;
  abstract get(k: string): CelInput | undefined;
  get size(): number {
    return this.keyList().length;
  }
  *entries(): MapIterator<[string, CelInput]> {
    for (const k of this.keyList()) yield [k, this.get(k)!];
  }
  *keys(): MapIterator<string> {
    yield* this.keyList();
  }
  *values(): MapIterator<CelInput> {
    for (const k of this.keyList()) yield this.get(k)!;
  }
  forEach(f: (v: CelInput, k: string, m: ReadonlyMap<string, CelInput>) => void): void {
    for (const k of this.keyList()) f(this.get(k)!, k, this);
  }
  [Symbol.iterator](): MapIterator<[string, CelInput]> {
    return this.entries();
  }
}

/**
 * `event` as a map whose values are made when an expression reads them: most conditions read
 * two or three fields, and building all ten (the payload as CEL values) for every trigger
 * was most of what binding cost.
 */
class EventFields extends LazyFields {
  private payload: CelInput | undefined;
  constructor(private readonly e: RuleEvent) {
    super();
  }
  protected keyList(): readonly string[] {
    return EVENT_FIELDS;
  }
  has(k: string): boolean {
    return (EVENT_FIELDS as readonly string[]).includes(k);
  }
  get(k: string): CelInput | undefined {
    const e = this.e;
    switch (k) {
      case 'id': return e.id;
      case 'index': return BigInt(e.index);
      case 'type': return e.type;
      case 'actor': return e.actor;
      case 'author': return e.author;
      case 'resource': return e.resource;
      case 'subsystem': return e.subsystem;
      case 'result': return e.result;
      case 'payload': return (this.payload ??= payloadView(e.payload ?? {}));
      case 'hlc': return celMap(new Map([['physicalMs', BigInt(e.hlc.physicalMs)], ['logical', BigInt(e.hlc.logical)]]));
      default: return undefined;
    }
  }
}

/**
 * `payloadInput` of a payload `checkPayload` accepted, made as it is read: an object is a map
 * whose values are converted when an expression reads them (a condition reads one or two
 * fields of a payload; converting all of them, into a Map of their own, was most of binding it).
 * Keys, order, size and values are those `payloadInput` gives.
 */
function payloadView(v: unknown): CelInput {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? celMap(new PayloadFields(v as Record<string, unknown>)) : payloadInput(v);
}

class PayloadFields extends LazyFields {
  private converted: Map<string, CelInput> | undefined;
  private names: string[] | undefined;
  constructor(private readonly o: Record<string, unknown>) {
    super();
  }
  protected keyList(): readonly string[] {
    return (this.names ??= Object.keys(this.o));
  }
  has(k: string): boolean {
    return typeof k === 'string' && Object.hasOwn(this.o, k);
  }
  get(k: string): CelInput | undefined {
    if (!this.has(k)) return undefined;
    let v = this.converted?.get(k);
    if (v === undefined) {
      v = payloadView(this.o[k]);
      (this.converted ??= new Map()).set(k, v);
    }
    return v;
  }
}
