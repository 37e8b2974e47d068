import { ChainproofError } from '../errors.js';
import { ALERT_SEVERITIES, RULES_EVENT_TYPES, type AlertSeverity, type ContractDefinition, type RuleAction } from './events.js';
import { compile, EXPRESSION_LIMITS, payloadInput } from './expression.js';
import { GOVERNANCE_LEDGER } from '../governance/governance-service.js';
import { checkObject, checkProposal, checkSetParameter, PROPOSAL_SHAPE, type CreateProposalInput } from '../governance/inputs.js';
import { isHexId } from '../ledger/events/envelope.js';

// Everything here checks attacker-controlled input before anything is appended.

const MAX_ACTIONS = 10;
const MAX_EVENT_TYPES = 50;
const TYPE = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;
const CONTRACT_SHAPE = 'name, description, trigger, condition, actions, limits, parameters';
const ACTION_SHAPE = 'exactly one of mintTokens, raiseAlert, appendEvent, setParameter, openProposal';

export interface ActionInput {
  mintTokens?: { to: string; amountExpr: string; reason: string } | null;
  raiseAlert?: { severity: string; message: string } | null;
  appendEvent?: { type: string; payloadExpr: string } | null;
  setParameter?: { ledger?: string | null; name: string; valueExpr: string } | null;
  openProposal?: { template: CreateProposalInput } | null;
}

export interface CreateContractInput {
  name: string;
  description?: string | null;
  trigger: { eventTypes: string[]; subsystem?: string | null; actor?: string | null };
  condition: string;
  actions: ActionInput[];
  limits?: { maxFiringsPerActor?: number | null; windowSeconds?: number | null } | null;
  parameters?: Record<string, unknown> | null;
}

function text(v: unknown, field: string, min: number, max: number): string {
  if (typeof v !== 'string' || v.length < min || v.length > max) throw new ChainproofError('BAD_USER_INPUT', `${field} must be ${min}..${max} characters`);
  return v;
}

function eventType(v: unknown, field: string): string {
  if (typeof v !== 'string' || !TYPE.test(v)) throw new ChainproofError('BAD_USER_INPUT', `${field} must be an event type (a letter, then letters, digits, _ . : -; at most 128)`);
  return v;
}

/** Checks a contract's shape and type-checks every expression in it; nothing is appended on failure. */
export function checkContract(input: CreateContractInput): ContractDefinition {
  checkObject(input, 'contract', CONTRACT_SHAPE);
  const t = checkObject(input.trigger, 'trigger', 'eventTypes, subsystem, actor') as CreateContractInput['trigger'];
  if (!Array.isArray(t.eventTypes) || t.eventTypes.length === 0 || t.eventTypes.length > MAX_EVENT_TYPES) {
    throw new ChainproofError('BAD_USER_INPUT', `trigger.eventTypes must list 1..${MAX_EVENT_TYPES} event types`);
  }
  if (!Array.isArray(input.actions) || input.actions.length === 0 || input.actions.length > MAX_ACTIONS) {
    throw new ChainproofError('BAD_USER_INPUT', `a contract has 1..${MAX_ACTIONS} actions`);
  }
  compile(input.condition, ['bool'], 'condition');
  const limits: NonNullable<CreateContractInput['limits']> = input.limits == null ? {} : checkObject(input.limits, 'limits', 'maxFiringsPerActor, windowSeconds');
  const cap = limits.maxFiringsPerActor ?? null;
  if (cap !== null && (!Number.isSafeInteger(cap) || cap < 1 || cap > 1_000_000)) throw new ChainproofError('BAD_USER_INPUT', 'limits.maxFiringsPerActor must be 1..1000000');
  const windowSeconds = limits.windowSeconds ?? 86_400;
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > EXPRESSION_LIMITS.maxWindowSeconds) {
    throw new ChainproofError('BAD_USER_INPUT', `limits.windowSeconds must be 1..${EXPRESSION_LIMITS.maxWindowSeconds}`);
  }
  const parameters = checkParameters(input.parameters ?? {});
  return {
    name: text(input.name, 'name', 1, 200),
    description: text(input.description ?? '', 'description', 0, 10_000),
    trigger: {
      eventTypes: [...new Set(t.eventTypes.map((x, i) => eventType(x, `trigger.eventTypes[${i}]`)))],
      subsystem: t.subsystem == null ? null : text(t.subsystem, 'trigger.subsystem', 1, 63),
      actor: t.actor == null ? null : text(t.actor, 'trigger.actor', 1, 600),
    },
    condition: input.condition,
    actions: input.actions.map(checkAction),
    limits: { maxFiringsPerActor: cap, windowSeconds },
    parameters,
    boolCondition: true,
  };
}

/** A contract's parameters, bound as `contract.params` on every evaluation: refuse now what could never be bound. */
export function checkParameters(parameters: unknown): Record<string, unknown> {
  const tooBig = () => new ChainproofError('BAD_USER_INPUT', 'parameters must be a JSON object of at most 16 KiB');
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) throw tooBig();
  try {
    if (JSON.stringify(parameters).length > 16_384) throw tooBig();
    payloadInput(parameters);
  } catch (e) {
    if (e instanceof ChainproofError) throw e;
    throw new ChainproofError('BAD_USER_INPUT', `parameters: ${(e as Error).message}`, { cause: e });
  }
  return parameters as Record<string, unknown>;
}

function checkAction(a: ActionInput, i: number): RuleAction {
  checkObject(a, `action ${i}`, ACTION_SHAPE);
  const kinds = (['mintTokens', 'raiseAlert', 'appendEvent', 'setParameter', 'openProposal'] as const).filter((k) => a[k] !== undefined && a[k] !== null);
  if (kinds.length !== 1) {
    throw new ChainproofError('BAD_USER_INPUT', `action ${i} must have ${ACTION_SHAPE}`);
  }
  const [kind] = kinds;
  const SHAPES = { mintTokens: 'to, amountExpr, reason', raiseAlert: 'severity, message', appendEvent: 'type, payloadExpr', setParameter: 'ledger, name, valueExpr', openProposal: 'template' };
  checkObject(a[kind!], `action ${i} ${kind}`, SHAPES[kind!]);
  if (a.mintTokens) {
    const m = a.mintTokens;
    compile(m.to, ['string'], `action ${i} mintTokens.to`);
    compile(m.amountExpr, ['int', 'uint', 'string'], `action ${i} mintTokens.amountExpr`);
    return { kind: 'mintTokens', to: m.to, amountExpr: m.amountExpr, reason: text(m.reason, `action ${i} mintTokens.reason`, 0, 2_000) };
  }
  if (a.raiseAlert) {
    const severity = a.raiseAlert.severity;
    if (!(ALERT_SEVERITIES as readonly string[]).includes(severity)) throw new ChainproofError('BAD_USER_INPUT', `action ${i}: severity must be one of ${ALERT_SEVERITIES.join(', ')}`);
    return { kind: 'raiseAlert', severity: severity as AlertSeverity, message: text(a.raiseAlert.message, `action ${i} raiseAlert.message`, 1, 2_000) };
  }
  if (a.appendEvent) {
    const type = eventType(a.appendEvent.type, `action ${i} appendEvent.type`);
    if ((RULES_EVENT_TYPES as readonly string[]).includes(type)) throw new ChainproofError('BAD_USER_INPUT', `action ${i}: ${type} is the rules engine's own event type`);
    compile(a.appendEvent.payloadExpr, ['map'], `action ${i} appendEvent.payloadExpr`);
    return { kind: 'appendEvent', type, payloadExpr: a.appendEvent.payloadExpr };
  }
  if (a.setParameter) {
    const { ledger, name, valueExpr } = a.setParameter;
    // The value is checked like a proposal's once computed; here the rest of it is, with a stand-in value.
    const checked = checkSetParameter({ ledger: ledger ?? GOVERNANCE_LEDGER, name, value: '0' }, `action ${i} setParameter`);
    if (checked.name === 'miningReward' && checked.ledger !== GOVERNANCE_LEDGER) throw new ChainproofError('BAD_USER_INPUT', `action ${i}: block rewards are paid on ${GOVERNANCE_LEDGER} only`);
    compile(valueExpr, ['int', 'uint', 'string'], `action ${i} setParameter.valueExpr`);
    return { kind: 'setParameter', ledger: checked.ledger, name: checked.name, valueExpr };
  }
  const template = checkObject(a.openProposal!.template, `action ${i} openProposal.template`, PROPOSAL_SHAPE) as unknown as CreateProposalInput;
  try {
    return { kind: 'openProposal', template: checkProposal({ ...template, description: template.description ?? '', votingType: template.votingType ?? 'WEIGHTED', actions: template.actions ?? [] }, { check: checkRuleAction }) };
  } catch (e) {
    if (e instanceof ChainproofError) throw new ChainproofError(e.code, `action ${i} openProposal.template: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A proposal's `rule` action, as stored on the proposal once checked. */
export type StoredRule =
  | { create: ContractDefinition & { active: boolean } }
  | { setActive: { contractId: string; active: boolean } }
  | { setParameters: { contractId: string; parameters: Record<string, unknown> } };

/**
 * A proposal's `rule` action: `{create: <CreateContractInput>}`, `{setActive: {id, active}}` or
 * `{setParameters: {id, parameters}}`, checked like `createContract`; returns what the proposal stores.
 */
export function checkRuleAction(rule: unknown, field: string): StoredRule {
  const shape = 'exactly one of create, setActive, setParameters';
  const r = checkObject(rule, field, shape) as { create?: unknown; setActive?: unknown; setParameters?: unknown };
  // null stands for absent, as it does for a proposal's own action fields.
  if ([r.create, r.setActive, r.setParameters].filter((x) => x !== undefined && x !== null).length !== 1) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} must have ${shape}`);
  }
  try {
    if (r.create != null) {
      const create = checkObject(r.create, 'create', `a contract (${CONTRACT_SHAPE}) and active`) as unknown as CreateContractInput & { active?: unknown };
      if (create.active != null && typeof create.active !== 'boolean') throw new ChainproofError('BAD_USER_INPUT', 'create.active must be a boolean');
      return { create: { ...checkContract(create), active: create.active !== false } };
    }
    if (r.setParameters != null) {
      const { id, parameters } = checkObject(r.setParameters, 'setParameters', 'id (a contract id) and parameters (a JSON object)');
      if (typeof id !== 'string' || !isHexId(id)) throw new ChainproofError('BAD_USER_INPUT', 'setParameters needs id (a contract id) and parameters (a JSON object)');
      return { setParameters: { contractId: id, parameters: checkParameters(parameters) } };
    }
    const { id, active } = checkObject(r.setActive, 'setActive', 'id (a contract id) and active (a boolean)');
    if (typeof id !== 'string' || !isHexId(id) || typeof active !== 'boolean') throw new ChainproofError('BAD_USER_INPUT', 'setActive needs id (a contract id) and active (a boolean)');
    return { setActive: { contractId: id, active } };
  } catch (e) {
    if (e instanceof ChainproofError) throw new ChainproofError(e.code, `${field}: ${e.message}`, { cause: e });
    throw e;
  }
}
