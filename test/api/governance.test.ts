import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { voteMessageBytes } from '../../src/governance/vote-message.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { cli, cliAsync } from '../support/cli.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';
import { collect } from '../support/ws.js';

let server: ServerProcess;
let env: Record<string, string>;
let cleanup: () => Promise<void>;
const keys: Record<string, string> = {};
/** The proposal run end to end (executed: 700 FOR, 300 AGAINST by a did:key), and the one proposed through the CLI. */
let finished: { id: string; snapshot: number; signer: string };
let fromCli: string;

beforeAll(async () => {
  const b = await serverBackend();
  env = b.env;
  cleanup = b.cleanup;
  server = await startServer(env);
  for (const role of ['reader', 'writer', 'governor']) {
    const r = await gql(server.url, `mutation($r: String!) { createApiKey(role: $r, name: $r) { key } }`, { r: role });
    keys[role] = r.data.createApiKey.key;
  }
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const ok = async <T = any>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<T> => {
  const r = await gql<T>(server.url, query, variables, key);
  expect(r.errors, query).toBeUndefined();
  return r.data!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ZERO_ID = '0'.repeat(64);
const PROPOSE = `mutation($i: CreateProposalInput!) { createProposal(input: $i) { id index state snapshot } }`;
const proposal = (over: Record<string, unknown> = {}) => ({
  title: 'Raise the block size',
  votingDelay: 0,
  votingPeriod: 2,
  quorum: 0.1,
  threshold: 0.5,
  timelock: 1,
  actions: [{ mint: { to: 'treasury', amount: '250' } }, { setParameter: { ledger: 'main', name: 'blockSize', value: '20' } }],
  ...over,
});

describe('governance over GraphQL', () => {
  it('each governance mutation checks its role', async () => {
    const mutations: Array<[string, string]> = [
      ['admin', `mutation { mintTokens(to: "x", amount: "1", reason: "matrix") { eventId } }`],
      ['admin', `mutation { mintTokensBatch(grants: [{to: "x", amount: "1"}], reason: "matrix") }`],
      ['writer', `mutation { transferTokens(to: "x", amount: "1") { eventId } }`],
      ['writer', `mutation { burnTokens(amount: "1") { eventId } }`],
      ['writer', `mutation { delegate(to: "x") { eventId } }`],
      ['writer', `mutation { castVote(input: {proposalId: "${ZERO_ID}", choice: FOR}) { voter } }`],
      ['governor', `mutation { createProposal(input: {title: "", votingDelay: 0, votingPeriod: 1, quorum: 0, threshold: 0.5, timelock: 0}) { id } }`],
      ['governor', `mutation { queueProposal(id: "${ZERO_ID}") { id } }`],
      ['governor', `mutation { executeProposal(id: "${ZERO_ID}") { id } }`],
      ['governor', `mutation { cancelProposal(id: "${ZERO_ID}") { id } }`],
    ];
    const ladder = ['reader', 'writer', 'governor', 'admin'];
    for (const [who, key] of [['anonymous', null], ['reader', keys.reader], ['writer', keys.writer], ['governor', keys.governor]] as const) {
      for (const [needs, query] of mutations) {
        const r = await gql(server.url, query, undefined, key);
        const code = r.errors?.[0]?.extensions?.code;
        if (who !== 'anonymous' && ladder.indexOf(who) >= ladder.indexOf(needs)) {
          // Allowed in: whatever it says now is about the input, not the caller.
          expect(['FORBIDDEN', 'UNAUTHENTICATED'], `${who} may ${query}`).not.toContain(code);
        } else {
          expect(code, `${who} may not ${query}`).toBe(who === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN');
        }
      }
    }
  });

  it("refuses a proposal to change the system ledger's parameters, which the server reserves for key administration", async () => {
    const r = await gql(server.url, PROPOSE, { i: proposal({ actions: [{ setParameter: { ledger: 'system', name: 'checkpointInterval', value: '1000000' } }] }) }, keys.governor);
    expect(r.errors?.[0]).toMatchObject({ message: expect.stringMatching(/"system" is reserved/), extensions: { code: 'FORBIDDEN' } });
  });

  it('runs a proposal end to end: API-key accounts vote, a did:key vote is relayed, subscribers see it, execution applies every action', async () => {
    const voter = ed25519FromSeed(randomBytes(32));
    const did = didKeyFromPublicKey(voter.publicKey);
    await ok(`mutation { a: mintTokens(to: "writer", amount: "700", reason: "grant") { eventId } b: mintTokens(to: "${did}", amount: "300", reason: "grant") { eventId } }`);
    const before = await ok(`{ ledger(name: "main") { blockSize } }`);
    expect(before.ledger.blockSize).not.toBe(20);

    const updates = collect<any>(server.wsUrl, `subscription { proposalUpdated { id state tally { voters } } }`);
    const votes = collect<any>(server.wsUrl, `subscription { voteCast { voter choice power } }`);
    await Promise.all([updates.connected, votes.connected]);
    await sleep(300);

    const { createProposal: p } = await ok(PROPOSE, { i: proposal() }, keys.governor);
    await sleep(50); // voting opens with the next event
    await ok(`mutation($id: String!) { castVote(input: {proposalId: $id, choice: FOR, reason: "ship it"}) { power } }`, { id: p.id }, keys.writer);
    // An API key votes as its own account: naming another voter needs that voter's signature.
    const unsigned = await gql(server.url, `mutation($id: String!, $v: String!) { castVote(input: {proposalId: $id, choice: FOR, voter: $v}) { voter } }`, { id: p.id, v: did }, keys.writer);
    expect(unsigned.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const origin = (await ok(`{ ledger(name: "main") { origin } }`)).ledger.origin;
    const signature = voter.sign(voteMessageBytes({ origin, proposalId: p.id, voter: did, choice: 'AGAINST' })).toString('hex');
    const relayed = await ok(
      `mutation($id: String!, $v: String!, $s: String!) { castVote(input: {proposalId: $id, choice: AGAINST, voter: $v, signature: $s}) { voter power signature } }`,
      { id: p.id, v: did, s: signature },
      keys.writer,
    );
    expect(relayed.castVote).toMatchObject({ voter: did, power: '300', signature });

    const got = await votes.until(2);
    expect(got.map((m) => [m.voteCast.voter, m.voteCast.choice, m.voteCast.power])).toEqual([['writer', 'FOR', '700'], [did, 'AGAINST', '300']]);
    const seen = await updates.until(3);
    expect(seen.map((m) => m.proposalUpdated.id)).toEqual([p.id, p.id, p.id]);

    await sleep(2_100);
    const read = await ok(
      `query($id: String!) { proposal(id: $id) { state snapshot supplyAtSnapshot tally { for against abstain quorumReached } votes { edges { node { voter choice } } } } }`,
      { id: p.id },
      null,
    );
    expect(read.proposal).toMatchObject({ state: 'SUCCEEDED', tally: { for: '700', against: '300', abstain: '0', quorumReached: true } });
    expect(read.proposal.votes.edges).toHaveLength(2);
    const snap = read.proposal.snapshot;
    finished = { id: p.id, snapshot: snap, signer: did };
    // The role matrix left "writer" (and "governor") delegating to "x": at the snapshot the
    // writer's power sat with x, and its own vote took it back (delegator override).
    const acct = await ok(
      `query($at: SafeInt!) { w: account(id: "writer") { balance votingPower(at: $at) delegate history { edges { node { kind delta } } } } x: account(id: "x") { votingPower(at: $at) delegators } }`,
      { at: snap },
    );
    expect(acct.w).toMatchObject({ balance: '700', votingPower: '0', delegate: 'x', history: { edges: [{ node: { kind: 'mint', delta: '700' } }] } });
    expect(acct.x).toEqual({ votingPower: '700', delegators: ['governor', 'writer'] });

    await ok(`mutation($id: String!) { queueProposal(id: $id) { state } }`, { id: p.id }, keys.governor);
    const early = await gql(server.url, `mutation($id: String!) { executeProposal(id: $id) { state } }`, { id: p.id }, keys.governor);
    expect(early.errors?.[0]?.extensions?.code).toBe('TIMELOCK_PENDING');
    await sleep(1_100);
    const done = await ok(`mutation($id: String!) { executeProposal(id: $id) { state } }`, { id: p.id }, keys.governor);
    expect(done.executeProposal.state).toBe('EXECUTED');
    // Minted after the snapshot: counted now, not at the snapshot.
    expect((await ok(`query($at: SafeInt!) { account(id: "treasury") { balance votingPower atSnapshot: votingPower(at: $at) } }`, { at: snap })).account)
      .toEqual({ balance: '250', votingPower: '250', atSnapshot: '0' });
    expect((await ok(`{ ledger(name: "main") { blockSize } }`)).ledger.blockSize).toBe(20);
    await Promise.all([updates.close(), votes.close()]);
  });

  it('`chainproof gov` proposes, votes, shows and tallies through a server, with exit codes', async () => {
    const as = (role: string) => ['--url', server.url, '--key', keys[role]!];
    const proposed = cli(['gov', 'propose', '--title', 'From the CLI', '--period', '600', '--quorum', '0', '--mint', 'x=5', '--json', ...as('governor')], env);
    expect(proposed.stderr).toBe('');
    const id = JSON.parse(proposed.stdout).id as string;
    fromCli = id;
    await sleep(50);
    const voted = cli(['gov', 'vote', id, 'for', '--reason', 'cli', ...as('writer')], env);
    expect(voted.stdout).toBe('writer voted FOR with power 700 (weight 700)\n');
    const tally = JSON.parse(cli(['gov', 'tally', id, '--json', ...as('reader')], env).stdout);
    expect(tally).toMatchObject({ id, state: 'ACTIVE', for: '700', voters: 1 });
    expect(cli(['gov', 'show', '--state', 'active', ...as('reader')], env).stdout).toContain('From the CLI');
    const bad = cli(['gov', 'vote', id, 'maybe', ...as('writer')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('FOR, AGAINST or ABSTAIN');
    const twice = cli(['gov', 'vote', id, 'against', ...as('writer')], env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/ALREADY_VOTED|voted on/);
  });

  it('checkpoints carry the governance state root, and `verify --replay` reproduces it from the ledger', async () => {
    // spawnSync above blocked this process's event loop past the server's keep-alive timeout;
    // let fetch see those idle sockets closed before it picks one.
    await sleep(100);
    const cp = await ok(`mutation { createCheckpoint(ledger: "main") { treeSize note } }`);
    expect(cp.createCheckpoint.note).toMatch(/\nstate [0-9a-f]{64}\n/);
    await server.kill('SIGTERM');
    const r = cli(['verify', '--full', '--replay'], env);
    expect(r.stdout).toContain('REPLAY MATCHES');
    expect(r.code).toBe(0);
    // On the database directly, too.
    const shown = cli(['gov', 'show', '--json'], env);
    expect(shown.stderr).toBe('');
    expect(JSON.parse(shown.stdout).map((p: { title: string }) => p.title)).toContain('From the CLI');
    server = await startServer(env);
  });

  // The embedded database is the running server's alone (its directory lock): a CLI beside it is refused.
  it.runIf(usingPostgres())('`chainproof gov` on the database: tally and show print the count, a vote is cast as --as, an unknown proposal is NOT_FOUND', async () => {
    const direct = (args: string[]) => cliAsync(['gov', ...args], env);
    const json = await direct(['tally', finished.id, '--json']);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual({
      id: finished.id, state: 'EXECUTED', for: '700', against: '300', abstain: '0', forPower: '700', againstPower: '300', abstainPower: '0',
      voters: 2, quorumReached: true, quorumRequired: '100',
    });
    const text = await direct(['tally', finished.id]);
    expect(text.stdout).toMatch(/^FOR\s+700\s+700\s*$/m);
    expect(text.stdout).toMatch(/^AGAINST\s+300\s+300\s*$/m);
    expect(text.stdout).toMatch(/^ABSTAIN\s+0\s+0\s*$/m);
    expect(text.stdout).toMatch(/\n2 voters; quorum reached \(needs 100 FOR \+ ABSTAIN power\); state EXECUTED\n$/);
    const shown = await direct(['show', finished.id]);
    expect(shown.stdout).toContain(`"Raise the block size" by governor, WEIGHTED, EXECUTED\nvoting `);
    expect(shown.stdout).toContain(`, snapshot ${finished.snapshot}\n`);

    // On the database the CLI acts as --as, with no signature needed.
    const voted = await direct(['vote', fromCli, 'against', '--as', finished.signer]);
    expect(voted.stdout).toBe(`${finished.signer} voted AGAINST with power 300 (weight 300)\n`);
    expect(voted.code).toBe(0);
    // Counted quadratically, the vote weighs √300 while its power stays 300.
    const quadratic = await direct(['propose', '--title', 'Counted by roots', '--type', 'QUADRATIC', '--period', '600', '--quorum', '0', '--as', 'governor', '--json']);
    expect(quadratic.stderr).toBe('');
    const rooted = await direct(['vote', JSON.parse(quadratic.stdout).id, 'for', '--as', finished.signer]);
    expect(rooted.stdout).toBe(`${finished.signer} voted FOR with power 300 (weight 17.320508)\n`);

    for (const command of ['tally', 'show']) {
      const missing = await direct([command, ZERO_ID]);
      expect(missing.stderr).toBe(`chainproof: NOT_FOUND: no proposal ${ZERO_ID}\n`);
      expect(missing.code).toBe(2);
      expect(missing.stdout).toBe('');
    }
  });
});
