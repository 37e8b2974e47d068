import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkAccount, checkChoice, checkProposal, checkProposalId, checkReason } from '../../src/governance/inputs.js';
import { voteMessageBytes, voteSignatureValid } from '../../src/governance/vote-message.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { thrownCodeOf } from '../support/codes.js';
import { proposalInput } from './support.js';

/** The error code `act` throws, or 'ok'. */
const codeOf = (act: () => unknown): string => thrownCodeOf(act) ?? 'ok';
const mint = { mint: { to: 'oncall', amount: '1' } };

describe('a proposal as submitted', () => {
  it('votes for at least one second, and no longer than a year', () => {
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 1 })))).toBe('ok');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 365 * 86_400 })))).toBe('ok');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 0 })))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 365 * 86_400 + 1 })))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 1.5 })))).toBe('BAD_USER_INPUT');
  });

  it('mints a positive whole number of tokens: a mint of nothing is refused when proposed, not found at execution', () => {
    expect(checkProposal(proposalInput({ actions: [{ mint: { to: 'oncall', amount: '1' } }] })).actions).toEqual([{ kind: 'mint', to: 'oncall', amount: '1' }]);
    for (const amount of ['0', '-1', '1.5']) expect(codeOf(() => checkProposal(proposalInput({ actions: [{ mint: { to: 'oncall', amount } }] }))), amount).toBe('BAD_USER_INPUT');
  });

  it('carries at most 20 actions', () => {
    expect(checkProposal(proposalInput({ actions: Array(20).fill(mint) })).actions).toHaveLength(20);
    expect(codeOf(() => checkProposal(proposalInput({ actions: Array(21).fill(mint) })))).toBe('BAD_USER_INPUT');
  });

  it('needs an approval threshold above zero, and takes a quorum of zero or of the whole supply', () => {
    expect(codeOf(() => checkProposal(proposalInput({ threshold: 0 })))).toBe('BAD_USER_INPUT');
    expect(checkProposal(proposalInput({ quorum: 0, threshold: 1 }))).toMatchObject({ quorumPpm: 0, thresholdPpm: 1_000_000 });
    expect(checkProposal(proposalInput({ quorum: 1 }))).toMatchObject({ quorumPpm: 1_000_000 });
  });
});

describe('a vote as submitted', () => {
  it('is FOR, AGAINST or ABSTAIN, nothing else', () => {
    for (const c of ['FOR', 'AGAINST', 'ABSTAIN']) expect(checkChoice(c)).toBe(c);
    for (const c of ['for', 'YES', '', null, 1]) expect(codeOf(() => checkChoice(c)), String(c)).toBe('BAD_USER_INPUT');
  });

  it("counts a signature only as 128 lowercase hex digits of the did:key voter's Ed25519 signature", () => {
    const key = ed25519FromSeed(randomBytes(32));
    const vote = { origin: 'acme/main', proposalId: 'ab'.repeat(32), voter: didKeyFromPublicKey(key.publicKey), choice: 'FOR' as const };
    const signature = key.sign(voteMessageBytes(vote)).toString('hex');
    expect(voteSignatureValid(vote, signature)).toBe(true);
    expect(voteSignatureValid(vote, signature.toUpperCase())).toBe(false);
    expect(voteSignatureValid(vote, `${signature}00`)).toBe(false);
    expect(voteSignatureValid({ ...vote, voter: 'alice' }, signature)).toBe(false);
  });

  it('takes exactly 128 hex digits: a trailing half byte, which hex decoding would drop, does not make another valid signature', () => {
    const key = ed25519FromSeed(randomBytes(32));
    const vote = { origin: 'acme/main', proposalId: 'ab'.repeat(32), voter: didKeyFromPublicKey(key.publicKey), choice: 'FOR' as const };
    const signature = key.sign(voteMessageBytes(vote)).toString('hex');
    expect(voteSignatureValid(vote, signature)).toBe(true);
    for (const variant of [`${signature}0`, `${signature}f`, signature.slice(0, 127), ` ${signature}`]) expect(voteSignatureValid(vote, variant), variant).toBe(false);
  });
});

describe('an account as named', () => {
  it('is an API key name of 1 to 64 characters, or a DID of up to 512 characters after its method', () => {
    for (const ok of ['a', 'a'.repeat(64), 'ci-writer@ops.example:1', `did:key:${'z'.repeat(512)}`, 'did:web:example.com%3A8443']) expect(checkAccount(ok)).toBe(ok);
    for (const bad of ['', 'a'.repeat(65), `did:key:${'z'.repeat(513)}`, ' a', '-a', 'a b', 'a=b', 12, null]) {
      expect(codeOf(() => checkAccount(bad)), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
    }
  });

  it('names a proposal by 64 lowercase hex digits, the id of its ProposalCreated event', () => {
    expect(checkProposalId('ab'.repeat(32))).toBe('ab'.repeat(32));
    for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), `${'ab'.repeat(32)}0`, 'g'.repeat(64), null]) expect(codeOf(() => checkProposalId(bad)), String(bad)).toBe('BAD_USER_INPUT');
  });
});

describe('a proposal as submitted (bounds)', () => {
  it('opens voting at once or up to a year later, and locks for no time or up to a year', () => {
    const year = 365 * 86_400;
    for (const field of ['votingDelay', 'timelock']) {
      expect(codeOf(() => checkProposal(proposalInput({ [field]: 0 }))), field).toBe('ok');
      expect(codeOf(() => checkProposal(proposalInput({ [field]: year }))), field).toBe('ok');
      for (const bad of [-1, year + 1, 0.5]) expect(codeOf(() => checkProposal(proposalInput({ [field]: bad }))), `${field} ${bad}`).toBe('BAD_USER_INPUT');
    }
  });

  it('has a title of 1 to 200 characters, a description of up to 10 000 and a reason of up to 2 000', () => {
    expect(codeOf(() => checkProposal(proposalInput({ title: 'x'.repeat(200), description: 'x'.repeat(10_000) })))).toBe('ok');
    expect(codeOf(() => checkProposal(proposalInput({ description: '' })))).toBe('ok');
    for (const over of [{ title: '' }, { title: 'x'.repeat(201) }, { description: 'x'.repeat(10_001) }]) {
      expect(codeOf(() => checkProposal(proposalInput(over))), JSON.stringify(over).slice(0, 40)).toBe('BAD_USER_INPUT');
    }
    expect(checkReason('x'.repeat(2_000))).toHaveLength(2_000);
    expect(checkReason('')).toBe('');
    expect([checkReason(undefined), checkReason(null)]).toEqual([undefined, undefined]);
    expect(codeOf(() => checkReason('x'.repeat(2_001)))).toBe('BAD_USER_INPUT');
  });

  it('is counted WEIGHTED or QUADRATIC, spelled exactly so', () => {
    expect(checkProposal(proposalInput({ votingType: 'QUADRATIC' })).votingType).toBe('QUADRATIC');
    for (const bad of ['weighted', 'LINEAR', undefined]) expect(codeOf(() => checkProposal(proposalInput({ votingType: bad }))), String(bad)).toBe('BAD_USER_INPUT');
  });

  it('has actions of exactly one kind each: none, or two, is refused', () => {
    expect(codeOf(() => checkProposal(proposalInput({ actions: [{}] })))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => checkProposal(proposalInput({ actions: [{ mint: null, setParameter: null }] })))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => checkProposal(proposalInput({ actions: [{ mint: { to: 'a', amount: '1' }, setParameter: { ledger: 'main', name: 'blockSize', value: '9' } }] })))).toBe('BAD_USER_INPUT');
  });

  it('may set a ledger parameter to zero (a block reward of nothing), but not to a name it does not know', () => {
    const set = (name: string, value: string) => checkProposal(proposalInput({ actions: [{ setParameter: { ledger: 'main', name, value } }] }));
    expect(set('miningReward', '0').actions).toEqual([{ kind: 'setParameter', ledger: 'main', name: 'miningReward', value: '0' }]);
    expect(codeOf(() => set('retargetBlocks', '5'))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => set('blockSize', '-1'))).toBe('BAD_USER_INPUT');
    // A ledger is named in 1 to 63 characters.
    const on = (ledger: string) => codeOf(() => checkProposal(proposalInput({ actions: [{ setParameter: { ledger, name: 'blockSize', value: '9' } }] })));
    expect([on('l'.repeat(63)), on(''), on('l'.repeat(64))]).toEqual(['ok', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
  });
});

describe('the vote message a voter signs', () => {
  it('is the RFC 8785 JSON of type, origin, proposal, voter, choice and reason, as tooling outside the server writes it', () => {
    const key = ed25519FromSeed(randomBytes(32));
    const voter = didKeyFromPublicKey(key.publicKey);
    const proposalId = 'ab'.repeat(32);
    // Written out by hand, keys in code-point order, no whitespace: what a wallet signs without this code.
    const bare = `{"choice":"AGAINST","origin":"acme/main","proposalId":"${proposalId}","type":"chainproof.vote/v1","voter":"${voter}"}`;
    const reasoned = `{"choice":"FOR","origin":"acme/main","proposalId":"${proposalId}","reason":"é \\"quoted\\"","type":"chainproof.vote/v1","voter":"${voter}"}`;
    const vote = { origin: 'acme/main', proposalId, voter };
    expect(voteMessageBytes({ ...vote, choice: 'AGAINST' }).toString('utf8')).toBe(bare);
    expect(voteMessageBytes({ ...vote, choice: 'FOR', reason: 'é "quoted"' }).toString('utf8')).toBe(reasoned);
    expect(voteSignatureValid({ ...vote, choice: 'AGAINST' }, key.sign(Buffer.from(bare, 'utf8')).toString('hex'))).toBe(true);
    expect(voteSignatureValid({ ...vote, choice: 'FOR', reason: 'é "quoted"' }, key.sign(Buffer.from(reasoned, 'utf8')).toString('hex'))).toBe(true);
  });

  it('is never taken as signed by a voter whose did:key does not decode to a key', () => {
    const key = ed25519FromSeed(randomBytes(32));
    const signature = key.sign(Buffer.from('anything')).toString('hex');
    for (const voter of ['did:key:', 'did:key:z', 'did:key:zNotBase58l0I', `did:key:z${'1'.repeat(40)}`]) {
      expect(voteSignatureValid({ origin: 'acme/main', proposalId: 'ab'.repeat(32), voter, choice: 'FOR' }, signature), voter).toBe(false);
    }
  });
});
