import { describe, expect, it } from 'vitest';
import type { QueryAuditRecord } from '../../src/provenance/model.js';
import { localName, toProvJson } from '../../src/provenance/prov-json.js';

let leaf = 0;
const audit = (queryId: string, agentId: string, result: unknown, resultConfidence: number | null, recordedBy = agentId): QueryAuditRecord => ({
  ledger: 'main',
  queryId,
  agentId,
  subject: 's',
  predicate: 'p',
  lens: null,
  lifecycleFilter: null,
  result,
  resultHash: 'ab'.repeat(32),
  resultConfidence,
  contributingAssertions: [],
  recordedBy,
  time: new Date(1_700_000_000_000 + leaf),
  eventIndex: leaf++,
  eventId: 'cd'.repeat(32),
});

/** PROV-N's local names: letters, digits, `_ - . / :` and percent escapes (no spaces, quotes or brackets). */
const QUALIFIED = /^(cp|prov|xsd):[A-Za-z0-9_%/.:-]+$/;

describe('PROV-JSON export', () => {
  it('gives each query run its own result entity, generated once, with that run\'s confidence', () => {
    const d = toProvJson([audit('q-1', 'bot', 'yes', 0.9), audit('q-2', 'bot', 'yes', 0.1)], 'test.chainproof/main');
    expect(d.entity!['cp:result/q-1']).toMatchObject({ 'cp:confidence': 0.9, 'prov:value': '"yes"' });
    expect(d.entity!['cp:result/q-2']).toMatchObject({ 'cp:confidence': 0.1, 'prov:value': '"yes"' });
    const generated = Object.values(d.wasGeneratedBy!).map((g) => g['prov:entity']);
    expect(generated).toEqual(['cp:result/q-1', 'cp:result/q-2']);
  });

  it('names free-text agents and query ids with valid qualified names, keeping the text as the label', () => {
    const d = toProvJson([audit('q.1:x', 'bot "one" <x>', 1, null, 'alice smith')], 'o');
    const ids = [...Object.keys(d.agent!), ...Object.keys(d.activity!), ...Object.keys(d.entity!)];
    for (const id of ids) expect(id).toMatch(QUALIFIED);
    expect(d.agent![`cp:agent/${localName('bot "one" <x>')}`]!['prov:label']).toBe('bot "one" <x>');
    expect(localName('bot "one" <x>')).toBe('bot%20%22one%22%20%3Cx%3E');
    expect(localName('ünï')).toBe('%C3%BCn%C3%AF');
    // Distinct names stay distinct.
    expect(localName('a b')).not.toBe(localName('a_b'));
  });

  it('percent-encodes every byte but letters, digits, _ and -, always as two upper-case hex digits', () => {
    // `.` and `:` are legal in a local name but not kept: one spelling per name, whatever the tool.
    expect(localName('q.1:x')).toBe('q%2E1%3Ax');
    // One digit would make `\n` then `B` read as the byte 0xAB.
    expect(localName('a\nB')).toBe('a%0AB');
    expect(localName('\u0001')).toBe('%01');
  });

  it('describes a query run by what it asked, when and at which leaf, and its result by hash and confidence, 0 included', () => {
    const q = { ...audit('q-7', 'bot', { b: 1, a: 2 }, 0), subject: 'auth/ttl', predicate: 'value' };
    const d = toProvJson([q], 'o');
    const at = q.time.toISOString();
    expect(d.activity!['cp:query/q-7']).toEqual({
      'prov:type': { $: 'cp:Query', type: 'prov:QUALIFIED_NAME' },
      'prov:startTime': at,
      'prov:endTime': at,
      'cp:subject': 'auth/ttl',
      'cp:predicate': 'value',
      'cp:eventId': q.eventId,
      'cp:leafIndex': q.eventIndex,
    });
    expect(d.entity!['cp:result/q-7']).toEqual({
      'prov:type': { $: 'cp:QueryResult', type: 'prov:QUALIFIED_NAME' },
      'prov:value': '{"a":2,"b":1}',
      'cp:resultHash': q.resultHash,
      'cp:confidence': 0,
    });
    expect(d.wasGeneratedBy!['_:wasGeneratedBy/result/q-7']).toEqual({ 'prov:entity': 'cp:result/q-7', 'prov:activity': 'cp:query/q-7', 'prov:time': at });
  });

  it('describes a cited assertion by its canonical value, claim, lifecycle and leaf, and its source by media type and leaf', () => {
    const hash = 'a4'.repeat(32);
    const assertion = { hash, subject: 'auth/ttl', predicate: 'value', value: { z: [1], a: 'x' }, lifecycle: 'DEPRECATED' as const, confidence: 0.5, sourceHash: '05'.repeat(32), supersedes: null, recordedBy: 'ops', time: new Date(9), eventIndex: 3, eventId: '06'.repeat(32) };
    const source = { contentHash: '05'.repeat(32), locator: 'git://cfg', mediaType: 'application/json', recordedBy: 'ops', time: new Date(8), eventIndex: 2, eventId: '07'.repeat(32) };
    const d = toProvJson([{ ...audit('q-8', 'bot', 1, null), contributingAssertions: [{ assertionHash: hash, weight: 1, sourceHash: source.contentHash, assertion, source }] }], 'o');
    expect(d.entity![`cp:assertion/${hash}`]).toEqual({
      'prov:type': { $: 'cp:Assertion', type: 'prov:QUALIFIED_NAME' },
      'prov:value': '{"a":"x","z":[1]}',
      'cp:subject': 'auth/ttl',
      'cp:predicate': 'value',
      'cp:lifecycle': 'DEPRECATED',
      'cp:confidence': 0.5,
      'cp:eventId': '06'.repeat(32),
      'cp:leafIndex': 3,
    });
    expect(d.entity![`cp:source/${source.contentHash}`]).toEqual({
      'prov:type': { $: 'cp:Source', type: 'prov:QUALIFIED_NAME' },
      'prov:location': 'git://cfg',
      'cp:contentHash': source.contentHash,
      'cp:mediaType': 'application/json',
      'cp:eventId': '07'.repeat(32),
      'cp:leafIndex': 2,
    });
  });

  it('names each relation by what it relates, so the pages of one export merge without clashes', () => {
    const cited = (queryId: string, hash: string) => ({
      ...audit(queryId, 'bot', 1, null),
      contributingAssertions: [
        {
          assertionHash: hash,
          weight: 0.5,
          sourceHash: '01'.repeat(32),
          assertion: { hash, subject: 's', predicate: 'p', value: 1, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash: '01'.repeat(32), supersedes: null, recordedBy: 'ops', time: new Date(7), eventIndex: 0, eventId: '02'.repeat(32) },
          source: null,
        },
      ],
    });
    const [a, b] = [cited('q-a', 'aa'.repeat(32)), cited('q-b', 'bb'.repeat(32))];
    const whole = toProvJson([a, b], 'o');
    const pages = [toProvJson([a], 'o'), toProvJson([b], 'o')];
    for (const kind of ['used', 'wasGeneratedBy', 'wasDerivedFrom', 'wasAttributedTo', 'wasAssociatedWith']) {
      const merged = Object.assign({}, ...pages.map((p) => p[kind]));
      expect(merged, kind).toEqual(whole[kind]);
      expect(Object.keys(merged).length, kind).toBe(Object.keys(pages[0]![kind]!).length + Object.keys(pages[1]![kind]!).length);
    }
    // An assertion's generation time is on its generation, as PROV-DM has it, not an entity attribute.
    expect(whole.entity![`cp:assertion/${'aa'.repeat(32)}`]).not.toHaveProperty('prov:generatedAtTime');
    expect(Object.values(whole.wasGeneratedBy!)).toContainEqual({ 'prov:entity': `cp:assertion/${'aa'.repeat(32)}`, 'prov:time': new Date(7).toISOString() });
  });

  it('gives an agent that both queries and records both types', () => {
    const d = toProvJson([{ ...audit('q-3', 'ops', 1, null), contributingAssertions: [] }], 'o');
    expect(d.agent!['cp:agent/ops']!['prov:type']).toEqual({ $: 'prov:SoftwareAgent', type: 'prov:QUALIFIED_NAME' });
    const withCitation = toProvJson(
      [
        {
          ...audit('q-4', 'ops', 1, null),
          contributingAssertions: [
            {
              assertionHash: 'ef'.repeat(32),
              weight: 1,
              sourceHash: '01'.repeat(32),
              assertion: { hash: 'ef'.repeat(32), subject: 's', predicate: 'p', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: '01'.repeat(32), supersedes: null, recordedBy: 'ops', time: new Date(0), eventIndex: 0, eventId: '02'.repeat(32) },
              source: null,
            },
          ],
        },
      ],
      'o',
    );
    expect(withCitation.agent!['cp:agent/ops']!['prov:type']).toEqual([
      { $: 'prov:SoftwareAgent', type: 'prov:QUALIFIED_NAME' },
      { $: 'prov:Agent', type: 'prov:QUALIFIED_NAME' },
    ]);
  });

  it('names its own terms under the ledger\'s origin, which a URI would otherwise read as a path', () => {
    expect(toProvJson([], 'audit.acme.internal/main').prefix).toMatchObject({ cp: 'urn:chainproof:audit.acme.internal%2Fmain:', prov: 'http://www.w3.org/ns/prov#' });
  });

  it('derives a revising assertion from the one it revises and each from its source, weighs its use, types an agent once per role, and keeps the query\'s lens and lifecycle filter', () => {
    const old = 'a1'.repeat(32);
    const revised = { hash: 'a2'.repeat(32), subject: 's', predicate: 'p', value: 2, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash: '01'.repeat(32), supersedes: old, recordedBy: 'ops', time: new Date(0), eventIndex: 1, eventId: '03'.repeat(32) };
    const plain = { ...revised, hash: 'a3'.repeat(32), supersedes: null };
    const d = toProvJson(
      [
        {
          ...audit('q-5', 'bot', 1, null),
          lens: 'prod',
          lifecycleFilter: ['ACCEPTED', 'PROPOSED'],
          contributingAssertions: [
            { assertionHash: revised.hash, weight: 0.25, sourceHash: revised.sourceHash, assertion: revised, source: null },
            { assertionHash: plain.hash, weight: 0.75, sourceHash: plain.sourceHash, assertion: plain, source: { contentHash: plain.sourceHash, locator: 'git://cfg', mediaType: null, recordedBy: 'ops', time: new Date(0), eventIndex: 0, eventId: '04'.repeat(32) } },
          ],
        },
        audit('q-6', 'bot', 1, null),
      ],
      'o',
    );
    const derivations = Object.values(d.wasDerivedFrom!).filter((r) => (r['prov:type'] as { $: string }).$ === 'prov:Revision');
    expect(derivations).toEqual([
      { 'prov:generatedEntity': `cp:assertion/${revised.hash}`, 'prov:usedEntity': `cp:assertion/${old}`, 'prov:type': { $: 'prov:Revision', type: 'prov:QUALIFIED_NAME' } },
    ]);
    const source = `cp:source/${plain.sourceHash}`;
    expect(d.entity![source]).toMatchObject({ 'prov:location': 'git://cfg', 'cp:contentHash': plain.sourceHash, 'cp:leafIndex': 0 });
    for (const a of [revised, plain]) {
      expect(d.wasDerivedFrom![`_:wasDerivedFrom/assertion/${a.hash}/source`]).toEqual({
        'prov:generatedEntity': `cp:assertion/${a.hash}`, 'prov:usedEntity': source, 'prov:type': { $: 'prov:PrimarySource', type: 'prov:QUALIFIED_NAME' },
      });
      // The recorder of an assertion is who it is attributed to; the agent that ran a query is associated with the run.
      expect(d.wasAttributedTo![`_:wasAttributedTo/assertion/${a.hash}`]).toMatchObject({ 'prov:entity': `cp:assertion/${a.hash}`, 'prov:agent': 'cp:agent/ops' });
    }
    expect(Object.keys(d.wasAttributedTo!)).toHaveLength(2);
    expect(Object.values(d.wasAssociatedWith!).map((r) => r['prov:agent'])).toEqual(['cp:agent/bot', 'cp:agent/bot']);
    expect(Object.values(d.used!).map((u) => [u['prov:entity'], u['cp:weight']])).toEqual([[`cp:assertion/${revised.hash}`, 0.25], [`cp:assertion/${plain.hash}`, 0.75]]);
    // ops recorded two assertions, bot ran two queries: one type each.
    expect(d.agent!['cp:agent/ops']!['prov:type']).toEqual({ $: 'prov:Agent', type: 'prov:QUALIFIED_NAME' });
    expect(d.agent!['cp:agent/bot']!['prov:type']).toEqual({ $: 'prov:SoftwareAgent', type: 'prov:QUALIFIED_NAME' });
    expect(d.activity!['cp:query/q-5']).toMatchObject({ 'cp:lens': 'prod', 'cp:lifecycleFilter': 'ACCEPTED,PROPOSED' });
    expect(d.activity!['cp:query/q-6']).not.toHaveProperty('cp:lens');
  });
});
