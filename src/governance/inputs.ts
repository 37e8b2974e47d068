import { ChainproofError } from '../errors.js';
import { fractionToPpm, parseAmount } from './amount.js';
import { LEDGER_PARAMETERS, type LedgerParameterName, type ProposalAction, type RuleActionHandler, type VoteChoice, type VotingType } from './events.js';

// Everything in this file checks attacker-controlled input before anything is appended.

/** An account is a DID, or an API key's principal (its name). */
const ACCOUNT = /^(did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,512}|[A-Za-z0-9][A-Za-z0-9._@:-]{0,63})$/;

export function checkAccount(id: unknown, field = 'account'): string {
  if (typeof id !== 'string' || !ACCOUNT.test(id)) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} must be a DID or an API key name (letters, digits, . _ @ : -)`);
  }
  return id;
}

export const isHexId = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

export function checkProposalId(id: unknown): string {
  if (!isHexId(id)) throw new ChainproofError('BAD_USER_INPUT', 'proposal id must be 64 lowercase hex characters (the id of its ProposalCreated event)');
  return id;
}

const DAY_S = 86_400;
const MAX_ACTIONS = 20;

export interface ProposalActionInput {
  mint?: { to: string; amount: string } | null;
  setParameter?: { ledger: string; name: string; value: string } | null;
  rule?: unknown;
}

export interface CreateProposalInput {
  title: string;
  description: string;
  votingType: VotingType;
  /** Seconds from creation until voting opens. */
  votingDelay: number;
  /** Seconds voting stays open. */
  votingPeriod: number;
  /** Fraction of the supply at the snapshot that must vote FOR or ABSTAIN. */
  quorum: number;
  /** Fraction of FOR among FOR + AGAINST needed to pass. */
  threshold: number;
  /** Seconds between queueing and the earliest execution. */
  timelock: number;
  actions: ProposalActionInput[];
}

/**
 * A JSON object where one is required. Input that is not typed by the schema (a proposal's
 * `rule`, a contract inside one) may be null, an array or a scalar anywhere.
 */
export function checkObject(v: unknown, field: string, shape: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ChainproofError('BAD_USER_INPUT', `${field} must be an object: ${shape}`);
  return v as Record<string, unknown>;
}

function seconds(v: unknown, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} must be whole seconds in ${min}..${max}`);
  }
  return v as number;
}

function text(v: unknown, field: string, min: number, max: number): string {
  if (typeof v !== 'string' || v.length < min || v.length > max) throw new ChainproofError('BAD_USER_INPUT', `${field} must be ${min}..${max} characters`);
  return v;
}

/** Checks a proposal's shape; ledger parameters' ranges are checked by the ledger itself. */
export function checkProposal(input: CreateProposalInput, rules?: Pick<RuleActionHandler, 'check'>) {
  checkObject(input, 'proposal', PROPOSAL_SHAPE);
  if (input.votingType !== 'WEIGHTED' && input.votingType !== 'QUADRATIC') {
    throw new ChainproofError('BAD_USER_INPUT', 'votingType must be WEIGHTED or QUADRATIC');
  }
  if (!Array.isArray(input.actions) || input.actions.length > MAX_ACTIONS) {
    throw new ChainproofError('BAD_USER_INPUT', `a proposal carries at most ${MAX_ACTIONS} actions`);
  }
  return {
    title: text(input.title, 'title', 1, 200),
    description: text(input.description ?? '', 'description', 0, 10_000),
    votingType: input.votingType,
    votingDelay: seconds(input.votingDelay, 'votingDelay', 0, 365 * DAY_S),
    votingPeriod: seconds(input.votingPeriod, 'votingPeriod', 1, 365 * DAY_S),
    timelock: seconds(input.timelock, 'timelock', 0, 365 * DAY_S),
    quorumPpm: fractionToPpm(input.quorum, 'quorum', true),
    thresholdPpm: fractionToPpm(input.threshold, 'threshold', false),
    actions: input.actions.map((a, i) => checkAction(a, i, rules)),
  };
}

/** What `checkProposal` takes, for messages. */
export const PROPOSAL_SHAPE = 'title, description, votingType, votingDelay, votingPeriod, quorum, threshold, timelock, actions';
const ACTION_SHAPE = 'exactly one of mint, setParameter, rule';

function checkAction(a: ProposalActionInput, i: number, rules: Pick<RuleActionHandler, 'check'> | undefined): ProposalAction {
  checkObject(a, `action ${i}`, ACTION_SHAPE);
  const given = (['mint', 'setParameter', 'rule'] as const).filter((k) => a[k] !== undefined && a[k] !== null);
  if (given.length !== 1) {
    throw new ChainproofError('BAD_USER_INPUT', `action ${i} must have ${ACTION_SHAPE}`);
  }
  if (a.mint) {
    const m = checkObject(a.mint, `action ${i} mint`, 'to, amount');
    return { kind: 'mint', to: checkAccount(m.to, `action ${i} mint.to`), amount: parseAmount(m.amount, `action ${i} mint.amount`).toString() };
  }
  if (a.setParameter) return checkSetParameter(checkObject(a.setParameter, `action ${i} setParameter`, 'ledger, name, value') as { ledger: unknown; name: unknown; value: unknown }, `action ${i}`);
  if (!rules) throw new ChainproofError('NOT_SUPPORTED', `action ${i}: rule actions need the contract engine, which this server does not run`);
  return { kind: 'rule', rule: rules.check(a.rule, `action ${i} rule`) };
}

/** A ledger parameter change (a proposal's action, or a contract's); `value` is a whole number in decimal. */
export function checkSetParameter(p: { ledger: unknown; name: unknown; value: unknown }, field: string): Extract<ProposalAction, { kind: 'setParameter' }> {
  if (!(LEDGER_PARAMETERS as readonly unknown[]).includes(p.name)) {
    throw new ChainproofError('BAD_USER_INPUT', `${field}: parameter must be one of ${LEDGER_PARAMETERS.join(', ')}`);
  }
  return { kind: 'setParameter', ledger: text(p.ledger, `${field} ledger`, 1, 63), name: p.name as LedgerParameterName, value: parseAmount(p.value, `${field} value`, false).toString() };
}

export function checkChoice(c: unknown): VoteChoice {
  if (c !== 'FOR' && c !== 'AGAINST' && c !== 'ABSTAIN') throw new ChainproofError('BAD_USER_INPUT', 'choice must be FOR, AGAINST or ABSTAIN');
  return c;
}

export function checkReason(r: unknown): string | undefined {
  if (r === undefined || r === null) return undefined;
  return text(r, 'reason', 0, 2_000);
}
