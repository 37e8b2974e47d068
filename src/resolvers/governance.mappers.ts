import { tallyText, type AccountView, type HistoryEntry, type ProposalView, type VoteView } from '../governance/governance-service.js';
import type { Account, BalanceChange, Proposal, Vote } from '../schema/governance.type.js';
import type { ProposalStateEnum, VoteChoiceEnum, VotingTypeEnum } from '../schema/governance.type.js';

// Amounts are bigints inside; GraphQL carries them as decimal strings.

export const toAccount = (a: AccountView): Account => ({ id: a.id, balance: a.balance.toString(), delegate: a.delegate });

export const toBalanceChange = (h: HistoryEntry): BalanceChange => ({ ...h, delta: h.delta.toString(), balance: h.balance.toString() });

export const toVote = (v: VoteView): Vote => ({ ...v, choice: v.choice as VoteChoiceEnum, power: v.power.toString() });

export const toProposal = (p: ProposalView): Proposal => ({
  ...p,
  votingType: p.votingType as VotingTypeEnum,
  state: p.state as ProposalStateEnum,
  supplyAtSnapshot: p.supplyAtSnapshot?.toString() ?? null,
  tally: tallyText(p.tally),
});
