import { createHash, randomBytes } from 'node:crypto';
import { requestSigningBytes } from '../../src/auth/known-dids.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { treeHasher, verifyInclusion } from '../../src/ledger/merkle/index.js';
import { parseCheckpoint, verifyNote } from '../../src/ledger/note/index.js';
import { cli } from '../support/cli.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import pg from 'pg';
import { gql, ledgerAhead, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;
let writer: string;
let reader: string;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const hex = (h: string) => Buffer.from(h, 'hex');

async function key(name: string, role: string): Promise<string> {
  const r = await gql(server.url, `mutation($n: String!, $r: String!) { createApiKey(name: $n, role: $r) { key } }`, { n: name, r: role });
  expect(r.errors).toBeUndefined();
  return r.data.createApiKey.key;
}

let env: Record<string, string>;
beforeAll(async () => {
  const backend = await serverBackend();
  cleanup = backend.cleanup;
  env = backend.env;
  server = await startServer(env);
  writer = await key('curator', 'writer');
  reader = await key('sre', 'reader');
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const SOURCE = `mutation($i: SourceInput!) { recordSource(input: $i) { contentHash locator eventId eventIndex recordedBy } }`;
const ASSERT = `mutation($i: AssertionInput!) { recordAssertion(input: $i) { hash eventId supersedes lifecycle } }`;
const QUERY = `mutation($i: QueryAuditInput!) { recordQuery(input: $i) { queryId resultHash eventId eventIndex recordedBy
  contributingAssertions { assertionHash weight source { locator } } } }`;

describe('provenance over GraphQL', () => {
  let v1: string;
  let v2: string;
  let sizeBeforeV2: number;

  it('records sources, assertions and queries for writers only, and refuses unknown assertions with nothing written', async () => {
    const src = await gql(server.url, SOURCE, { i: { locator: 'git://cfg/auth.yaml@a1', contentHash: sha('auth v1'), mediaType: 'application/yaml' } }, writer);
    expect(src.errors).toBeUndefined();
    expect(src.data.recordSource.recordedBy).toBe('curator');
    const a1 = await gql(server.url, ASSERT, { i: { subject: 'auth/session', predicate: 'ttl', value: 3600, lifecycle: 'ACCEPTED', confidence: 0.9, sourceHash: sha('auth v1') } }, writer);
    v1 = a1.data.recordAssertion.hash;
    expect(v1).toBe(sha(canonicalize({ subject: 'auth/session', predicate: 'ttl', value: 3600, lifecycle: 'ACCEPTED', confidence: 0.9, sourceHash: sha('auth v1') })!));

    const denied = await gql(server.url, QUERY, { i: { agentId: 'x', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] } }, reader);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const q = await gql(server.url, QUERY, {
      i: { queryId: 'q-1', agentId: 'deployment-agent', subject: 'auth/session', predicate: 'ttl', lens: 'prod', lifecycleFilter: ['ACCEPTED'],
        result: { ttl: 3600 }, resultConfidence: 0.9, contributingAssertions: [{ assertionHash: v1, weight: 1 }] },
    }, writer);
    expect(q.errors).toBeUndefined();
    expect(q.data.recordQuery).toMatchObject({ queryId: 'q-1', resultHash: sha(canonicalize({ ttl: 3600 })!), recordedBy: 'curator',
      contributingAssertions: [{ assertionHash: v1, weight: 1, source: { locator: 'git://cfg/auth.yaml@a1' } }] });

    const before = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
    const unknown = await gql(server.url, QUERY, {
      i: { agentId: 'deployment-agent', subject: 'auth/session', predicate: 'ttl', result: 1, contributingAssertions: [{ assertionHash: v1, weight: 0.5 }, { assertionHash: sha('ghost'), weight: 0.5 }] },
    }, writer);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknown.errors?.[0]?.message).toContain(sha('ghost'));
    const dup = await gql(server.url, QUERY, { i: { queryId: 'q-1', agentId: 'a', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] } }, writer);
    expect(dup.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const badHash = await gql(server.url, ASSERT, { i: { subject: 's', predicate: 'p', value: 1, lifecycle: 'ACCEPTED', confidence: 0.5, sourceHash: 'nope' } }, writer);
    expect(badHash.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize).toBe(before);

    sizeBeforeV2 = before;
    await gql(server.url, SOURCE, { i: { locator: 'git://cfg/auth.yaml@b2', contentHash: sha('auth v2') } }, writer);
    const a2 = await gql(server.url, ASSERT, { i: { subject: 'auth/session', predicate: 'ttl', value: 900, lifecycle: 'ACCEPTED', confidence: 0.95, sourceHash: sha('auth v2'), supersedes: v1 } }, writer);
    v2 = a2.data.recordAssertion.hash;
    for (const [subject, n] of [['auth/login', 2], ['db/pool', 3], ['auth/mfa/totp', 4]] as const) {
      const r = await gql(server.url, QUERY, { i: { queryId: `q-${n}`, agentId: 'deployment-agent', subject, predicate: 'ttl', result: n, resultConfidence: 0.5, contributingAssertions: [{ assertionHash: v2, weight: 0.8 }, { assertionHash: v1, weight: 0.2 }] } }, writer);
      expect(r.errors).toBeUndefined();
    }
  });

  it('traces an agent by subject glob, and each line\'s proof verifies against the signed checkpoint note', async () => {
    const cp = await gql(server.url, `mutation { createCheckpoint { treeSize } }`);
    expect(cp.errors).toBeUndefined();
    const { verifierKey } = (await gql(server.url, `{ ledger { verifierKey } }`)).data.ledger;
    const r = await gql(server.url, `query($since: DateTimeISO!) { trace(agent: "deployment-agent", since: $since, subject: "auth/*") {
        until truncated lines { queryId subject result resultConfidence eventId eventIndex time
          contributingAssertions { assertionHash weight sourceHash assertion { value lifecycle time } source { locator contentHash time } }
          proof { leafIndex treeSize leafHash hashes rootHash checkpoint { treeSize note } } } } }`,
      { since: new Date(Date.now() - 6 * 3600_000).toISOString() }, reader);
    expect(r.errors).toBeUndefined();
    const lines = r.data.trace.lines;
    // No end given: every audit up to the newest, and `until` says how far that reached.
    expect(Date.parse(r.data.trace.until)).toBeGreaterThanOrEqual(Date.parse(lines.at(-1).time));
    expect(lines.map((l: { queryId: string }) => l.queryId)).toEqual(['q-1', 'q-2']);
    // Times are their events' HLC physical clocks: a source before the assertion citing it, before the line.
    const [c2, c1] = lines[1].contributingAssertions;
    const at = (iso: string) => Date.parse(iso);
    expect(at(c1.source.time)).toBeLessThanOrEqual(at(c1.assertion.time));
    expect(at(c2.assertion.time)).toBeLessThanOrEqual(at(lines[1].time));
    const strip = ({ time: _t, ...rest }: { time: string }) => rest;
    expect(lines[1].contributingAssertions.map((c: { assertion: { time: string }; source: { time: string } }) => ({ ...c, assertion: strip(c.assertion), source: strip(c.source) }))).toEqual([
      { assertionHash: v2, weight: 0.8, sourceHash: sha('auth v2'), assertion: { value: 900, lifecycle: 'ACCEPTED' }, source: { locator: 'git://cfg/auth.yaml@b2', contentHash: sha('auth v2') } },
      { assertionHash: v1, weight: 0.2, sourceHash: sha('auth v1'), assertion: { value: 3600, lifecycle: 'ACCEPTED' }, source: { locator: 'git://cfg/auth.yaml@a1', contentHash: sha('auth v1') } },
    ]);
    // A contribution names its source's hash on its own too, as DESIGN §4 has it.
    const bare = await gql(server.url, `query($since: DateTimeISO!) { trace(agent: "deployment-agent", since: $since, subject: "auth/*") {
        lines { contributingAssertions { assertionHash sourceHash } } } }`, { since: new Date(Date.now() - 6 * 3600_000).toISOString() }, reader);
    expect(bare.errors).toBeUndefined();
    expect(bare.data.trace.lines[1].contributingAssertions).toEqual([{ assertionHash: v2, sourceHash: sha('auth v2') }, { assertionHash: v1, sourceHash: sha('auth v1') }]);
    for (const line of lines) {
      const p = line.proof;
      expect(p.leafIndex).toBe(line.eventIndex);
      expect(p.leafHash).toBe(line.eventId);
      const ev = await gql(server.url, `query($id: String!) { event(id: $id) { canonical } }`, { id: line.eventId });
      const canonical = Buffer.from(ev.data.event.canonical, 'base64');
      expect(treeHasher('sha256').leafHash(canonical).toString('hex')).toBe(line.eventId);
      expect(at(line.time)).toBe(JSON.parse(canonical.toString('utf8')).hlc.physicalMs);
      const checkpoint = parseCheckpoint(verifyNote(p.checkpoint.note, [verifierKey]).text);
      expect(checkpoint.treeSize).toBe(p.treeSize);
      expect(verifyInclusion('sha256', p.leafIndex, checkpoint.treeSize, hex(p.leafHash), p.hashes.map(hex), checkpoint.rootHash)).toBe(true);
      // The same proof does not hold for another leaf.
      expect(verifyInclusion('sha256', p.leafIndex, checkpoint.treeSize, hex(sha('other')), p.hashes.map(hex), checkpoint.rootHash)).toBe(false);
    }
    // A line recorded after the latest checkpoint is proven against the current tree instead.
    await gql(server.url, QUERY, { i: { queryId: 'q-late', agentId: 'deployment-agent', subject: 'late/x', predicate: 'ttl', result: 0, contributingAssertions: [] } }, writer);
    const late = await gql(server.url, `query($since: DateTimeISO!) { trace(agent: "deployment-agent", since: $since, subject: "late/*") {
        lines { eventId proof { leafIndex treeSize leafHash hashes rootHash checkpoint { treeSize } } } } }`, { since: new Date(Date.now() - 3600_000).toISOString() }, reader);
    const lp = late.data.trace.lines[0].proof;
    expect(lp.checkpoint).toBeNull();
    expect(lp.leafHash).toBe(late.data.trace.lines[0].eventId);
    const head = (await gql(server.url, `{ ledger { treeSize rootHash } }`)).data.ledger;
    expect({ treeSize: lp.treeSize, rootHash: lp.rootHash }).toEqual(head);
    expect(verifyInclusion('sha256', lp.leafIndex, lp.treeSize, hex(lp.leafHash), lp.hashes.map(hex), hex(lp.rootHash))).toBe(true);

    // As of the tree before q-late, a checkpoint made since does not show: the lines prove against the one then.
    const newer = await gql(server.url, `mutation { createCheckpoint { treeSize } }`, undefined, writer);
    expect(newer.data.createCheckpoint.treeSize).toBeGreaterThan(lp.leafIndex);
    const past = await gql(server.url, `query($since: DateTimeISO!, $n: SafeInt!) { trace(agent: "deployment-agent", since: $since, asOf: {treeSize: $n}) {
        lines { queryId proof { leafIndex treeSize leafHash hashes rootHash checkpoint { treeSize } } } } }`, { since: new Date(Date.now() - 3600_000).toISOString(), n: lp.leafIndex }, reader);
    expect(past.errors).toBeUndefined();
    const ids = past.data.trace.lines.map((l: { queryId: string }) => l.queryId);
    expect(ids).toEqual(expect.arrayContaining(['q-1', 'q-2']));
    expect(ids).not.toContain('q-late');
    for (const { proof: p } of past.data.trace.lines) {
      expect(p.checkpoint.treeSize).toBe(p.treeSize);
      expect(p.treeSize).toBeLessThanOrEqual(lp.leafIndex);
      expect(verifyInclusion('sha256', p.leafIndex, p.treeSize, hex(p.leafHash), p.hashes.map(hex), hex(p.rootHash))).toBe(true);
    }

    const deep = await gql(server.url, `query($since: DateTimeISO!) { trace(agent: "deployment-agent", since: $since, subject: "auth/**", first: 2) { truncated lines { queryId } } }`,
      { since: new Date(Date.now() - 3600_000).toISOString() }, reader);
    expect(deep.data.trace).toEqual({ truncated: true, lines: [{ queryId: 'q-1' }, { queryId: 'q-2' }] });
  });

  it('serves the provenance chain now and as it was before the supersession', async () => {
    const CHAIN = `query($h: String!, $asOf: AsOfInput) { provenance(assertionHash: $h, asOf: $asOf) {
      assertion { hash supersededBy } links { depth assertion { hash value } source { locator } event { id index type actor blockHeight } block { height treeSize } }
      checkpoint { treeSize note } } }`;
    const now = await gql(server.url, CHAIN, { h: v2 });
    expect(now.errors).toBeUndefined();
    const c = now.data.provenance;
    expect(c.links.map((l: { assertion: { hash: string } }) => l.assertion.hash)).toEqual([v2, v1]);
    expect(c.links[1].source.locator).toBe('git://cfg/auth.yaml@a1');
    expect(c.links.every((l: { event: { type: string; blockHeight: number }; block: { height: number } }) =>
      l.event.type === 'AssertionRecorded' && l.block.height === l.event.blockHeight)).toBe(true);
    // The checkpoint covers every link's event.
    expect(c.checkpoint.treeSize).toBeGreaterThan(Math.max(...c.links.map((l: { event: { index: number } }) => l.event.index)));
    expect((await gql(server.url, CHAIN, { h: v1 })).data.provenance.assertion.supersededBy).toBe(v2);
    const then = await gql(server.url, CHAIN, { h: v1, asOf: { treeSize: sizeBeforeV2 } });
    expect(then.data.provenance.assertion.supersededBy).toBeNull();
    const missing = await gql(server.url, CHAIN, { h: v2, asOf: { treeSize: sizeBeforeV2 } });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const audits = await gql(server.url, `query($asOf: AsOfInput) { queryAudits(filter: {agent: "deployment-agent", subject: "auth/**"}, asOf: $asOf) { edges { node { queryId } } } }`,
      { asOf: { treeSize: sizeBeforeV2 } });
    expect(audits.data.queryAudits.edges).toEqual([{ node: { queryId: 'q-1' } }]);
    // A cited assertion's successor, as of each read's own asOf (resolved only when asked for).
    const CITED = `query($asOf: AsOfInput) { queryAudits(filter: {queryId: "q-1"}, asOf: $asOf) {
      edges { node { contributingAssertions { assertion { hash supersededBy } } } } } }`;
    const cited = async (asOf?: object) => (await gql(server.url, CITED, { asOf })).data.queryAudits.edges[0].node.contributingAssertions[0].assertion;
    expect(await cited()).toEqual({ hash: v1, supersededBy: v2 });
    expect(await cited({ treeSize: sizeBeforeV2 })).toEqual({ hash: v1, supersededBy: null });
  });

  it('shows a link\'s event in no block as of a tree size its block had not reached', async () => {
    // Three events a block, and no sealing by time: the assertion's block ends after the bound.
    const made = await gql(server.url, `mutation { createLedger(input: {name: "sealed", blockSize: 3, maxBlockIntervalMs: 3600000}) { name } }`);
    expect(made.errors).toBeUndefined();
    const record = (q: string, i: object) => gql(server.url, q.replace('(input: $i)', '(ledger: "sealed", input: $i)'), { i }, writer);
    expect((await record(SOURCE, { locator: 'sealed/1', contentHash: sha('sealed 1') })).errors).toBeUndefined();
    const a = await record(ASSERT, { subject: 'sealed/x', predicate: 'p', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: sha('sealed 1') });
    expect(a.errors).toBeUndefined();
    expect((await record(SOURCE, { locator: 'sealed/2', contentHash: sha('sealed 2') })).errors).toBeUndefined();
    const CHAIN = `query($h: String!, $asOf: AsOfInput) { provenance(ledger: "sealed", assertionHash: $h, asOf: $asOf) {
      links { event { index blockHeight } block { height } } } }`;
    const h = a.data.recordAssertion.hash;
    let now = await gql(server.url, CHAIN, { h });
    for (let i = 0; i < 200 && now.data.provenance.links[0].block === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = await gql(server.url, CHAIN, { h });
    }
    expect(now.data.provenance.links[0]).toEqual({ event: { index: 1, blockHeight: 0 }, block: { height: 0 } });
    // As of the block that holds it, the event is in that block.
    const inBlock = await gql(server.url, CHAIN, { h, asOf: { blockHeight: 0 } });
    expect(inBlock.errors).toBeUndefined();
    expect(inBlock.data.provenance.links[0]).toEqual({ event: { index: 1, blockHeight: 0 }, block: { height: 0 } });
    const then = await gql(server.url, CHAIN, { h, asOf: { treeSize: 2 } });
    expect(then.errors).toBeUndefined();
    expect(then.data.provenance.links[0]).toEqual({ event: { index: 1, blockHeight: null }, block: null });
  });

  it('exports query audits as W3C PROV-JSON', async () => {
    const r = await gql(server.url, `{ exportProvenance(format: PROV_JSON, filter: {subject: "db/*"}) { format hasNextPage document } }`);
    expect(r.errors).toBeUndefined();
    const d = r.data.exportProvenance.document;
    expect(r.data.exportProvenance.format).toBe('PROV_JSON');
    expect(d.prefix.prov).toBe('http://www.w3.org/ns/prov#');
    expect(Object.keys(d.activity)).toEqual(['cp:query/q-3']);
    expect(d.agent['cp:agent/deployment-agent']['prov:type'].$).toBe('prov:SoftwareAgent');
    const used = Object.values(d.used) as Array<Record<string, unknown>>;
    expect(used).toEqual([
      { 'prov:activity': 'cp:query/q-3', 'prov:entity': `cp:assertion/${v2}`, 'cp:weight': 0.8 },
      { 'prov:activity': 'cp:query/q-3', 'prov:entity': `cp:assertion/${v1}`, 'cp:weight': 0.2 },
    ]);
    const derived = Object.values(d.wasDerivedFrom) as Array<Record<string, any>>;
    expect(derived).toContainEqual(expect.objectContaining({ 'prov:generatedEntity': `cp:assertion/${v2}`, 'prov:usedEntity': `cp:assertion/${v1}` }));
    expect(derived).toContainEqual(expect.objectContaining({ 'prov:generatedEntity': `cp:assertion/${v1}`, 'prov:usedEntity': `cp:source/${sha('auth v1')}` }));
    expect(d.entity[`cp:source/${sha('auth v1')}`]['prov:location']).toBe('git://cfg/auth.yaml@a1');
    const generated = Object.values(d.wasGeneratedBy) as Array<Record<string, unknown>>;
    expect(generated.filter((g) => g['prov:activity'])).toEqual([expect.objectContaining({ 'prov:entity': 'cp:result/q-3', 'prov:activity': 'cp:query/q-3' })]);
    // Each cited assertion's generation carries its time.
    expect(generated).toContainEqual({ 'prov:entity': `cp:assertion/${v1}`, 'prov:time': expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(d.entity['cp:result/q-3']['cp:resultHash']).toBe(sha('3'));
    expect(Object.values(d.wasAttributedTo)).toContainEqual({ 'prov:entity': `cp:assertion/${v1}`, 'prov:agent': 'cp:agent/curator' });
    expect(Object.values(d.wasAssociatedWith)).toEqual([{ 'prov:activity': 'cp:query/q-3', 'prov:agent': 'cp:agent/deployment-agent' }]);
  });

  it('records a batch of queries in one call, all or none, and finds one by queryId', async () => {
    const BATCH = `mutation($i: [QueryAuditInput!]!) { recordQueries(inputs: $i) { queryId eventIndex } }`;
    const ok = await gql(server.url, BATCH, { i: [1, 2, 3].map((n) => ({ queryId: `batch-${n}`, agentId: 'bulk', subject: 'bulk/x', predicate: 'p', result: n, contributingAssertions: [{ assertionHash: v2, weight: 1 }] })) }, writer);
    expect(ok.errors).toBeUndefined();
    const idx = ok.data.recordQueries.map((q: { eventIndex: number }) => q.eventIndex);
    expect(idx).toEqual([idx[0], idx[0] + 1, idx[0] + 2]);
    const before = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
    const bad = await gql(server.url, BATCH, { i: [
      { queryId: 'batch-4', agentId: 'bulk', subject: 'bulk/x', predicate: 'p', result: 4, contributingAssertions: [] },
      { queryId: 'batch-5', agentId: 'bulk', subject: 'bulk/x', predicate: 'p', result: 5, contributingAssertions: [{ assertionHash: sha('ghost'), weight: 1 }] },
    ] }, writer);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize).toBe(before);
    const one = await gql(server.url, `{ queryAudits(filter: {queryId: "batch-2"}) { edges { node { queryId result agentId } } } }`, undefined, reader);
    expect(one.data.queryAudits.edges).toEqual([{ node: { queryId: 'batch-2', result: 2, agentId: 'bulk' } }]);
  });

  it('a key bound to agents records their audits alone: another agent\'s is FORBIDDEN, in a batch too, and nothing is written', async () => {
    const made = await gql(server.url, `mutation($a: [String!]) { createApiKey(name: "deployer-key", role: "writer", agents: $a) { key apiKey { name agents } } }`,
      { a: ['deployment-agent', 'deployment-agent', 'canary-agent'] });
    expect(made.errors).toBeUndefined();
    expect(made.data.createApiKey.apiKey).toEqual({ name: 'deployer-key', agents: ['deployment-agent', 'canary-agent'] });
    const bound = made.data.createApiKey.key;
    const audit = (agentId: string, queryId: string) => ({ queryId, agentId, subject: 'auth/session', predicate: 'ttl', result: 1, contributingAssertions: [] });

    const own = await gql(server.url, QUERY, { i: audit('canary-agent', 'bound-1') }, bound);
    expect(own.errors).toBeUndefined();
    expect(own.data.recordQuery.recordedBy).toBe('deployer-key');
    const before = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
    const other = await gql(server.url, QUERY, { i: audit('billing-agent', 'bound-2') }, bound);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.errors?.[0]?.message).toContain('"billing-agent"');
    const BATCH = `mutation($i: [QueryAuditInput!]!) { recordQueries(inputs: $i) { queryId } }`;
    const mixed = await gql(server.url, BATCH, { i: [audit('deployment-agent', 'bound-3'), audit('billing-agent', 'bound-4')] }, bound);
    expect(mixed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize).toBe(before);
    // An unbound writer still records any agent's audits.
    expect((await gql(server.url, QUERY, { i: audit('billing-agent', 'bound-5') }, writer)).errors).toBeUndefined();

    const listed = await gql(server.url, `{ apiKeys { name agents } }`);
    expect(listed.data.apiKeys).toEqual(expect.arrayContaining([{ name: 'deployer-key', agents: ['deployment-agent', 'canary-agent'] }, { name: 'curator', agents: null }]));
    for (const [role, agents] of [['reader', ['a']], ['validator', ['a']], ['writer', []], ['writer', ['bad\u0000id']]] as const) {
      const refused = await gql(server.url, `mutation($r: String!, $a: [String!]) { createApiKey(name: "never-made", role: $r, agents: $a) { key } }`, { r: role, a: agents });
      expect(refused.errors?.[0]?.extensions?.code, `${role} ${JSON.stringify(agents)}`).toBe('BAD_USER_INPUT');
    }
    expect((await gql(server.url, `{ apiKeys { name } }`)).data.apiKeys.map((k: { name: string }) => k.name)).not.toContain('never-made');
  });

  it('a DID bound to an agent signs recordings of that agent\'s audits alone', async () => {
    const signer = ed25519FromSeed(randomBytes(32));
    const did = didKeyFromPublicKey(signer.publicKey);
    const reg = await gql(server.url, `mutation($d: String!) { registerDid(did: $d, role: "writer", name: "signed-agent", agents: ["signed-agent"]) { agents } }`, { d: did });
    expect(reg.data.registerDid).toEqual({ agents: ['signed-agent'] });
    const signed = async (agentId: string, queryId: string) => {
      const body = JSON.stringify({ query: QUERY, variables: { i: { queryId, agentId, subject: 'auth/session', predicate: 'ttl', result: 2, contributingAssertions: [] } } });
      const ts = String(Date.now());
      const signature = signer.sign(requestSigningBytes('test.chainproof', 'POST', '/graphql', ts, body)).toString('hex');
      const r = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chainproof-did': did, 'x-chainproof-timestamp': ts, 'x-chainproof-signature': signature }, body });
      return (await r.json()) as { data?: any; errors?: Array<{ message: string; extensions: { code: string } }> };
    };
    const own = await signed('signed-agent', 'did-bound-1');
    expect(own.errors).toBeUndefined();
    expect(own.data.recordQuery.recordedBy).toBe(did);
    const other = await signed('deployment-agent', 'did-bound-2');
    expect(other.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect(other.errors?.[0]?.message).toMatch(/^this DID records query audits of agent "signed-agent" only/);
    const found = await gql(server.url, `{ queryAudits(filter: {queryId: "did-bound-2"}) { edges { node { queryId } } } }`, undefined, reader);
    expect(found.data.queryAudits.edges).toEqual([]);
    const listed = await gql(server.url, `{ knownDids { name agents } }`);
    expect(listed.data.knownDids).toContainEqual({ name: 'signed-agent', agents: ['signed-agent'] });
  });

  it('answers a recording with the cited assertions and sources only where it asks for them', async () => {
    const input = (n: number) => ({ queryId: `cited-${n}`, agentId: 'bulk', subject: 'bulk/y', predicate: 'p', result: n, contributingAssertions: [{ assertionHash: v2, weight: 0.5 }] });
    const BARE = `mutation($i: [QueryAuditInput!]!) { recordQueries(inputs: $i) { queryId contributingAssertions { assertionHash weight } } }`;
    const CITED = `mutation($i: [QueryAuditInput!]!) { recordQueries(inputs: $i) { queryId ...Cited } }
      fragment Cited on QueryAudit { contributingAssertions { a: assertion { subject } source { locator } } }`;
    // Each twice: an operation runs compiled from its second time (see jit-executor.ts).
    for (const n of [1, 2]) {
      const bare = await gql(server.url, BARE, { i: [input(n)] }, writer);
      expect(bare.errors).toBeUndefined();
      expect(bare.data.recordQueries).toEqual([{ queryId: `cited-${n}`, contributingAssertions: [{ assertionHash: v2, weight: 0.5 }] }]);
      const cited = await gql(server.url, CITED, { i: [input(n + 10)] }, writer);
      expect(cited.errors).toBeUndefined();
      expect(cited.data.recordQueries).toEqual([{ queryId: `cited-${n + 10}`, contributingAssertions: [{ a: { subject: 'auth/session' }, source: { locator: 'git://cfg/auth.yaml@b2' } }] }]);
    }

    // Reads too: a trace or a page of audits that shows only hashes and weights, or the records as well.
    const since = new Date(Date.now() - 3600_000).toISOString();
    for (let run = 0; run < 2; run++) {
      const bareTrace = await gql(server.url, `query($s: DateTimeISO!) { trace(agent: "bulk", since: $s, subject: "bulk/y") {
          lines { queryId contributingAssertions { assertionHash weight } } } }`, { s: since }, reader);
      expect(bareTrace.errors).toBeUndefined();
      expect(bareTrace.data.trace.lines.slice(0, 2)).toEqual([1, 11].map((n) => ({ queryId: `cited-${n}`, contributingAssertions: [{ assertionHash: v2, weight: 0.5 }] })));
      const citedPage = await gql(server.url, `{ queryAudits(filter: {agent: "bulk", subject: "bulk/y"}, first: 1) {
          edges { node { queryId ... on QueryAudit { contributingAssertions { source { contentHash } } } } } } }`, undefined, reader);
      expect(citedPage.errors).toBeUndefined();
      expect(citedPage.data.queryAudits.edges).toEqual([{ node: { queryId: 'cited-1', contributingAssertions: [{ source: { contentHash: sha('auth v2') } }] } }]);
    }

    // A result written inline in the document (not a variable) is hashed as the same JSON.
    const inline = await gql(server.url, `mutation { recordQuery(input: { queryId: "cited-30", agentId: "bulk", subject: "bulk/y", predicate: "p",
      result: { ttl: 60, tags: ["a", { b: null }] }, contributingAssertions: [{ assertionHash: "${v2}", weight: 1 }] }) { resultHash result } }`, undefined, writer);
    expect(inline.errors).toBeUndefined();
    expect(inline.data.recordQuery).toEqual({ resultHash: sha(canonicalize({ ttl: 60, tags: ['a', { b: null }] })!), result: { ttl: 60, tags: ['a', { b: null }] } });
  });

  it('holds one response to 32 MB of cited assertion values, aliases together', async () => {
    const src = sha('hoard');
    expect((await gql(server.url, SOURCE, { i: { locator: 'blob://hoard', contentHash: src } }, writer)).errors).toBeUndefined();
    const cited: Array<{ assertionHash: string; weight: number }> = [];
    for (let i = 0; i < 20; i++) {
      const a = await gql(server.url, ASSERT, { i: { subject: `hoard/${i}`, predicate: 'blob', value: 'h'.repeat(60_000), lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src } }, writer);
      cited.push({ assertionHash: a.data.recordAssertion.hash, weight: 0.05 });
    }
    // Fifteen lines citing 1.2 MB each: 18 MB a trace.
    const recorded = await gql(server.url, `mutation($i: [QueryAuditInput!]!) { recordQueries(inputs: $i) { queryId } }`, {
      i: Array.from({ length: 15 }, (_, n) => ({ agentId: 'hoarder', subject: `hoard/${n}`, predicate: 'blob', result: n, contributingAssertions: cited })),
    }, writer);
    expect(recorded.errors).toBeUndefined();
    const trace = (alias: string, fields: string) => `${alias}: trace(agent: "hoarder", since: "2000-01-01T00:00:00Z") { lines { contributingAssertions { assertion { ${fields} } } } }`;
    const one = await gql(server.url, `{ ${trace('a', 'value')} }`, undefined, reader);
    expect(one.errors).toBeUndefined();
    expect(one.data.a.lines).toHaveLength(15);
    const two = await gql(server.url, `{ ${trace('a', 'value')} ${trace('b', 'value')} }`, undefined, reader);
    expect(two.errors?.[0]?.extensions?.code).toBe('RESULT_TOO_LARGE');
    // Without the values, the same reads carry nothing large.
    expect((await gql(server.url, `{ ${trace('a', 'subject')} ${trace('b', 'subject')} }`, undefined, reader)).errors).toBeUndefined();
    // An export carries the cited values too, and draws on the same allowance.
    const exported = (alias: string) => `${alias}: exportProvenance(filter: {agent: "hoarder"}) { document }`;
    expect((await gql(server.url, `{ ${exported('x')} }`, undefined, reader)).errors).toBeUndefined();
    expect((await gql(server.url, `{ ${exported('x')} ${exported('y')} }`, undefined, reader)).errors?.[0]?.extensions?.code).toBe('RESULT_TOO_LARGE');
    expect((await gql(server.url, `{ ${trace('a', 'value')} ${exported('x')} }`, undefined, reader)).errors?.[0]?.extensions?.code).toBe('RESULT_TOO_LARGE');
  });

  it('traces up to the newest audit without `until`, though the ledger\'s clock runs ahead of the server\'s', async () => {
    // Any writer may stamp an event up to the allowed skew ahead; every later event follows its clock.
    const ahead = await ledgerAhead(server.url, 'ahead', 30_000, writer);
    const rec = await gql(server.url, `mutation($i: QueryAuditInput!) { recordQuery(ledger: "ahead", input: $i) { queryId time } }`,
      { i: { queryId: 'ahead-1', agentId: 'late-agent', subject: 'auth/x', predicate: 'p', result: 1, contributingAssertions: [] } }, writer);
    expect(Date.parse(rec.data.recordQuery.time)).toBeGreaterThanOrEqual(ahead);
    const trace = (until?: string) => gql(server.url, `query($s: DateTimeISO!, $u: DateTimeISO) { trace(ledger: "ahead", agent: "late-agent", since: $s, until: $u) { until lines { queryId } } }`,
      { s: new Date(Date.now() - 60_000).toISOString(), u: until }, reader);
    const open = await trace();
    expect(open.data.trace.lines).toEqual([{ queryId: 'ahead-1' }]);
    expect(Date.parse(open.data.trace.until)).toBeGreaterThanOrEqual(ahead);
    expect((await trace(new Date().toISOString())).data.trace.lines).toEqual([]);
  });

  it('`verify --replay` rebuilds the provenance records from the ledger and fails on a projection that differs', async () => {
    await server.kill('SIGTERM');
    try {
      const clean = cli(['verify', '--replay'], env);
      expect(clean.stdout).toMatch(/PROVENANCE REPLAY MATCHES: \d+ provenance records/);
      expect(clean.code).toBe(0);
      if (!usingPostgres()) return;
      const db = new pg.Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      try {
        await db.query(`UPDATE prov_query_audits SET result_confidence = 0.99 WHERE query_id = 'q-1'`);
      } finally {
        await db.end();
      }
      const tampered = cli(['verify', '--replay', '--json'], env);
      expect(tampered.code).toBe(1);
      expect(JSON.parse(tampered.stdout).provenanceReplay).toMatchObject({ ok: false, mismatchedTables: ['prov_query_audits'] });
    } finally {
      server = await startServer(env);
    }
  });
});
