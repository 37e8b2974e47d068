import type { Command } from 'commander';
import { ChainproofError } from '../errors.js';
import type { GovernanceService, ProposalView } from '../governance/governance-service.js';
import { checkAccount, checkChoice, type CreateProposalInput, type ProposalActionInput } from '../governance/inputs.js';
import { PROPOSAL_STATES, type ProposalState } from '../governance/state.js';
import { tallyText } from '../governance/tally.js';
import { shown } from './printable.js';
import { graphqlClient } from './graphql-client.js';
import { serverOf, serverOptions, type ServerAddress, type ServerOptions } from './server-options.js';
import { orNull, type Shape } from './shape.js';
import { repeatable } from './repeatable.js';

/** A proposal as `chainproof gov` prints it, from the database or a server alike. */
export interface ProposalSummary {
  id: string;
  title: string;
  proposer: string;
  state: string;
  votingType: string;
  voteStart: string;
  voteEnd: string;
  snapshot: number | null;
  tally: { for: string; against: string; abstain: string; forPower: string; againstPower: string; abstainPower: string; voters: number; quorumReached: boolean; quorumRequired: string | null };
}

interface VoteSummary {
  voter: string;
  choice: string;
  power: string;
  weight: string;
}

interface GovSource {
  propose(input: CreateProposalInput): Promise<ProposalSummary>;
  vote(input: { proposalId: string; choice: string; reason?: string; voter?: string; signature?: string }): Promise<VoteSummary>;
  proposal(id: string): Promise<ProposalSummary | null>;
  proposals(state?: string): Promise<ProposalSummary[]>;
}

const PROPOSAL_FIELDS = 'id title proposer state votingType voteStart voteEnd snapshot tally { for against abstain forPower againstPower abstainPower voters quorumReached quorumRequired }';

const PROPOSAL: Shape = {
  id: 'string', title: 'string', proposer: 'string', state: 'string', votingType: 'string', voteStart: 'string', voteEnd: 'string', snapshot: orNull('number'),
  tally: {
    for: 'string', against: 'string', abstain: 'string', forPower: 'string', againstPower: 'string', abstainPower: 'string',
    voters: 'number', quorumReached: 'boolean', quorumRequired: orNull('string'),
  },
};

function remoteGov(server: ServerAddress): GovSource {
  const call = graphqlClient(server);
  return {
    propose: async (input) => (await call<{ createProposal: ProposalSummary }>(`mutation($i: CreateProposalInput!) { createProposal(input: $i) { ${PROPOSAL_FIELDS} } }`, { i: input }, { createProposal: PROPOSAL })).createProposal,
    vote: async (input) => (await call<{ castVote: VoteSummary }>(`mutation($i: CastVoteInput!) { castVote(input: $i) { voter choice power weight } }`, { i: input },
      { castVote: { voter: 'string', choice: 'string', power: 'string', weight: 'string' } })).castVote,
    proposal: async (id) => (await call<{ proposal: ProposalSummary | null }>(`query($id: String!) { proposal(id: $id) { ${PROPOSAL_FIELDS} } }`, { id }, { proposal: orNull(PROPOSAL) })).proposal,
    proposals: async (state) =>
      (await call<{ proposals: { edges: Array<{ node: ProposalSummary }> } }>(
        `query($f: ProposalFilter) { proposals(first: 100, filter: $f) { edges { node { ${PROPOSAL_FIELDS} } } } }`,
        { f: state ? { state } : null },
        { proposals: { edges: [{ node: PROPOSAL }] } },
      )).proposals.edges.map((e) => e.node),
  };
}

const summary = (p: ProposalView): ProposalSummary => ({
  id: p.id,
  title: p.title,
  proposer: p.proposer,
  state: p.state,
  votingType: p.votingType,
  snapshot: p.snapshot,
  voteStart: p.voteStart.toISOString(),
  voteEnd: p.voteEnd.toISOString(),
  tally: tallyText(p.tally),
});

function directGov(gov: GovernanceService, account: string): GovSource {
  return {
    propose: async (input) => summary(await gov.createProposal(account, input)),
    vote: async (input) => {
      const v = await gov.castVote(account, input);
      return { voter: v.voter, choice: v.choice, power: v.power.toString(), weight: v.weight };
    },
    proposal: async (id) => {
      const p = await gov.proposal(id);
      return p && summary(p);
    },
    proposals: async (state) => (await gov.proposals({ state: state as ProposalState | undefined }, 'NEWEST', { first: 100 })).items.map((i) => summary(i.node)),
  };
}

type Table = (head: string[], rows: string[][]) => string;
type WithGovernance = <T>(fn: (gov: GovernanceService) => Promise<T>) => Promise<T>;

/** `--mint to=amount` and `--set ledger.name=value`, repeatable. */
function actionsFrom(mints: string[], sets: string[]): ProposalActionInput[] {
  const actions: ProposalActionInput[] = [];
  for (const m of mints) {
    const [to, amount, ...more] = m.split('=');
    if (!to || !amount || more.length > 0) throw new ChainproofError('BAD_USER_INPUT', `--mint takes account=amount, not ${JSON.stringify(m)}`);
    actions.push({ mint: { to, amount } });
  }
  for (const s of sets) {
    const match = /^([a-z0-9_-]+)\.([A-Za-z]+)=(\d+)$/.exec(s);
    if (!match) throw new ChainproofError('BAD_USER_INPUT', `--set takes ledger.parameter=value, e.g. main.blockSize=500, not ${JSON.stringify(s)}`);
    actions.push({ setParameter: { ledger: match[1]!, name: match[2]!, value: match[3]! } });
  }
  return actions;
}

function number(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new ChainproofError('BAD_USER_INPUT', `${flag} must be a number`);
  return n;
}


/** `chainproof gov`: propose, vote, show, tally — on the database (acting as `--as`) or a server (`--url`, `--key`). */
export function addGovCommands(cmd: Command, withGovernance: WithGovernance, table: Table): void {
  const gov = cmd.command('gov').description('governance: proposals and votes');
  const source = (c: Command) =>
    serverOptions(c, 'API key for --url (or CHAINPROOF_API_KEY); its name is the account that acts')
      .option('--as <account>', 'on the database: the account that acts', 'cli')
      .option('--json', 'print JSON');
  type SourceOpts = ServerOptions & { as: string; json?: boolean };
  const run = <T>(o: SourceOpts, fn: (src: GovSource) => Promise<T>): Promise<T> => {
    const server = serverOf(o);
    return server ? fn(remoteGov(server)) : withGovernance((g) => fn(directGov(g, checkAccount(o.as, '--as'))));
  };
  const print = (o: SourceOpts, value: unknown, text: () => string): void => void process.stdout.write(o.json ? `${JSON.stringify(value, null, 2)}\n` : text());
  const tallyText = (p: ProposalSummary) =>
    table(['choice', 'weight', 'power'], [
      ['FOR', p.tally.for, p.tally.forPower],
      ['AGAINST', p.tally.against, p.tally.againstPower],
      ['ABSTAIN', p.tally.abstain, p.tally.abstainPower],
    ]) + `${p.tally.voters} voters; quorum ${p.tally.quorumReached ? 'reached' : 'not reached'}${p.tally.quorumRequired ? ` (needs ${p.tally.quorumRequired} FOR + ABSTAIN power)` : ''}; state ${p.state}\n`;

  source(gov.command('propose').description('create a proposal'))
    .requiredOption('--title <title>')
    .option('--description <text>', '', '')
    .option('--type <type>', 'WEIGHTED or QUADRATIC', 'WEIGHTED')
    .option('--delay <seconds>', 'until voting opens', '0')
    .requiredOption('--period <seconds>', 'voting stays open')
    .option('--quorum <fraction>', 'of the supply at the snapshot', '0.04')
    .option('--threshold <fraction>', 'FOR among FOR + AGAINST', '0.5')
    .option('--timelock <seconds>', 'between queueing and execution', '0')
    .option('--mint <account=amount>', 'action: mint (repeatable)', repeatable, [])
    .option('--set <ledger.parameter=value>', 'action: set a ledger parameter (repeatable)', repeatable, [])
    .action(async (o: SourceOpts & Record<string, any>) => {
      const input: CreateProposalInput = {
        title: o.title,
        description: o.description,
        votingType: o.type,
        votingDelay: number(o.delay, '--delay'),
        votingPeriod: number(o.period, '--period'),
        quorum: number(o.quorum, '--quorum'),
        threshold: number(o.threshold, '--threshold'),
        timelock: number(o.timelock, '--timelock'),
        actions: actionsFrom(o.mint, o.set),
      };
      const p = await run(o, (src) => src.propose(input));
      print(o, p, () => `${p.id}\n${p.state}: "${shown(p.title)}", voting ${p.voteStart} .. ${p.voteEnd}\n`);
    });

  source(gov.command('vote <proposalId> <choice>').description('vote FOR, AGAINST or ABSTAIN'))
    .option('--reason <text>')
    .option('--voter <did>', 'a did:key whose signature the vote carries')
    .option('--signature <hex>', 'that did:key\'s Ed25519 signature over the canonical vote message')
    .action(async (proposalId: string, choice: string, o: SourceOpts & { reason?: string; voter?: string; signature?: string }) => {
      const v = await run(o, (src) => src.vote({ proposalId, choice: checkChoice(choice.toUpperCase()), reason: o.reason, voter: o.voter, signature: o.signature }));
      print(o, v, () => `${v.voter} voted ${v.choice} with power ${v.power} (weight ${v.weight})\n`);
    });

  source(gov.command('show [proposalId]').description('one proposal, or the latest 100'))
    .option('--state <state>', 'only proposals in this state')
    .action(async (id: string | undefined, o: SourceOpts & { state?: string }) => {
      if (id) {
        const p = await run(o, (src) => src.proposal(id));
        if (!p) throw new ChainproofError('NOT_FOUND', `no proposal ${id}`);
        return print(o, p, () => `${p.id}\n"${shown(p.title)}" by ${shown(p.proposer)}, ${p.votingType}, ${p.state}\nvoting ${p.voteStart} .. ${p.voteEnd}, snapshot ${p.snapshot ?? '–'}\n${tallyText(p)}`);
      }
      const state = o.state?.toUpperCase();
      if (state !== undefined && !(PROPOSAL_STATES as readonly string[]).includes(state)) {
        throw new ChainproofError('BAD_USER_INPUT', `--state must be one of ${PROPOSAL_STATES.join(', ').toLowerCase()}`);
      }
      const list = await run(o, (src) => src.proposals(state));
      print(o, list, () => table(['id', 'state', 'type', 'voters', 'title'], list.map((p) => [p.id.slice(0, 16), p.state, p.votingType, String(p.tally.voters), p.title])));
    });

  source(gov.command('tally <proposalId>').description('the current count of a proposal'))
    .action(async (id: string, o: SourceOpts) => {
      const p = await run(o, (src) => src.proposal(id));
      if (!p) throw new ChainproofError('NOT_FOUND', `no proposal ${id}`);
      print(o, { id: p.id, state: p.state, ...p.tally }, () => tallyText(p));
    });
}
