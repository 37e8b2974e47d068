import type { LedgerParameterName } from '../governance/events.js';
import type { checkProposal } from '../governance/inputs.js';

/**
 * The rules engine's event types. Contracts and their firings are events the server signs
 * under subsystem `rules` (reserved, so no client can forge a firing or an alert); the
 * projections are a fold of them in ledger order.
 */
export const RULES_SUBSYSTEM = 'rules';
/** The actor of everything the consumer writes on a contract's behalf. */
export const RULES_ACTOR = 'rules';

export const ALERT_SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** A contract's actions as stored: data, with CEL sources where a value is computed. */
export type RuleAction =
  | { kind: 'mintTokens'; to: string; amountExpr: string; reason: string }
  | { kind: 'raiseAlert'; severity: AlertSeverity; message: string }
  | { kind: 'appendEvent'; type: string; payloadExpr: string }
  /** A ledger parameter, changed as governance changes it (a LedgerParameterSet event); the value is computed. */
  | { kind: 'setParameter'; ledger: string; name: LedgerParameterName; valueExpr: string }
  /** A governance proposal opened by the rules identity, from a template checked like createProposal. */
  | { kind: 'openProposal'; template: ProposalTemplate };

/** A proposal as `checkProposal` returns it: what a ProposalCreated payload carries besides proposer and grace. */
export type ProposalTemplate = ReturnType<typeof checkProposal>;

export interface ContractTrigger {
  eventTypes: string[];
  /** Only events of this subsystem; null matches events without one as well as any. */
  subsystem: string | null;
  actor: string | null;
}

export interface ContractLimits {
  /** At most this many firings per trigger actor within `windowSeconds` (a reward-farming guard). */
  maxFiringsPerActor: number | null;
  windowSeconds: number;
}

export interface ContractDefinition {
  name: string;
  description: string;
  trigger: ContractTrigger;
  condition: string;
  actions: RuleAction[];
  limits: ContractLimits;
  parameters: Record<string, unknown>;
  /** Set on the contracts the server installs at first start (see builtins.ts): one of each per database. */
  builtin?: string;
  /**
   * Set on every contract created since it was introduced: a condition that evaluates to
   * anything but a bool (a `dyn` payload field holding "yes", say) is an error the execution
   * records, where it used to be a silent "does not fire". Contracts created before keep that
   * rule, so a replay of their ledger gives the executions it gave.
   */
  boolCondition?: true;
}

export interface ActionOutcome {
  kind: RuleAction['kind'];
  ok: boolean;
  error?: string;
  /** What the action did: the amount and recipient of a mint, the alert, the appended type. */
  detail?: Record<string, unknown>;
}

export interface RulesPayloads {
  /** `proposalId` when a passed proposal made the change. */
  ContractCreated: ContractDefinition & { active: boolean; proposalId?: string };
  ContractActiveSet: { contractId: string; active: boolean; proposalId?: string };
  /** Replaces a contract's parameters (`contract.params`) from the next event on. */
  ContractParametersSet: { contractId: string; parameters: Record<string, unknown>; proposalId?: string };
  ContractExecuted: {
    contractId: string;
    trigger: string;
    triggerIndex: number;
    triggerActor: string;
    /** The trigger's HLC time: per-actor caps count firings in a window of it. */
    triggerMs: number;
    depth: number;
    ok: boolean;
    error?: string;
    actions: ActionOutcome[];
  };
  AlertRaised: { contractId: string; trigger: string; severity: AlertSeverity; message: string };
}

export type RulesEventType = keyof RulesPayloads;
export const RULES_EVENT_TYPES: readonly RulesEventType[] = ['ContractCreated', 'ContractActiveSet', 'ContractParametersSet', 'ContractExecuted', 'AlertRaised'];
