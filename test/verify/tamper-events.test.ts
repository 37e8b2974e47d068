import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalBytes, type Envelope } from '../../src/ledger/events/envelope.js';
import { treeHasher } from '../../src/ledger/merkle/index.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { buildLedger, envelopeOfEvent, expectIssue, forgedEventColumns, randomHash, tamper } from './support.js';

/** Each test builds its own ledger in one shared database and tampers with that ledger only. */
describe('verification finds tampered events', () => {
  let t: TestLedger;
  beforeAll(async () => {
    t = await openTestLedger();
  });
  afterAll(async () => {
    await t?.close();
  });
  const ds = () => t.db.dataSource;
  const verify = (name: string, full: boolean) => t.service.verify(name, full);

  /** Rewrites an event's envelope (and its columns); with `rehash`, its id too, as a careful forger would. */
  async function forge(ledgerId: number, index: number, env: Envelope, rehash: boolean) {
    const f = forgedEventColumns(env.ledger, env);
    await tamper(ds(), [
      `UPDATE events SET canonical = $3, parents = $4, hlc_ms = $5, hlc_logical = $6 ${rehash ? ', id = $7' : ''}
        WHERE ledger_id = $1 AND idx = $2`,
      [ledgerId, index, f.canonical, f.parents, f.hlcMs, f.hlcLogical, ...(rehash ? [f.id] : [])],
    ]);
  }

  it('a changed payload inside the canonical bytes', async () => {
    const { ledger, events } = await buildLedger(t.service, 'payload');
    for (const index of [17, events.length - 3]) {
      const env = envelopeOfEvent(events[index]!);
      env.payload = { n: 1_000_000, forged: true };
      await forge(ledger.id, index, env, false);
    }
    const full = await verify('payload', true);
    expectIssue(full, 'EVENT_HASH_MISMATCH', { index: 17 });
    expectIssue(full, 'EVENT_HASH_MISMATCH', { index: events.length - 3 });
    expect(full.issues.filter((i) => i.kind !== 'EVENT_HASH_MISMATCH')).toEqual([]);
    // Quick mode re-hashes the newest events.
    expectIssue(await verify('payload', false), 'EVENT_HASH_MISMATCH', { index: events.length - 3 });
  });

  it('a changed payload with the id recomputed to match (the tree gives it away)', async () => {
    const { ledger, events } = await buildLedger(t.service, 'payload-rehashed');
    const env = envelopeOfEvent(events[40]!);
    env.payload = { forged: true };
    await forge(ledger.id, 40, env, true);
    const full = await verify('payload-rehashed', true);
    expectIssue(full, 'TREE_MISMATCH', { index: 40 });
    // Once, at the lowest node above it: the stored nodes higher up still agree with their stored children.
    expect(full.issues.filter((i) => i.kind === 'TREE_MISMATCH')).toHaveLength(1);
    expect(full.issues.some((i) => i.kind === 'EVENT_HASH_MISMATCH')).toBe(false);
    // Its block's events root is of other events, its child has lost its parent and it is a tip
    // the head does not list; but the tree roots the blocks, checkpoints and head sign after it
    // are of the stored tree: the difference is the one already reported.
    expect(full.issues.map((i) => i.kind).sort()).toEqual(['BLOCK_EVENTS_ROOT', 'HEAD_MISMATCH', 'MISSING_PARENT', 'TREE_MISMATCH']);
    expect(full.issues.find((i) => i.kind === 'HEAD_MISMATCH')!.message).toBe('head of payload-rehashed: tips are not the events no other event names as a parent');
    // A root that is neither the leaves' nor the stored tree's is still wrong.
    await ds().query(`UPDATE ledger_heads SET root_hash = $2 WHERE ledger_id = $1`, [ledger.id, randomHash()]);
    const rewritten = await verify('payload-rehashed', true);
    expect(rewritten.issues.find((i) => i.kind === 'HEAD_MISMATCH')!.message).toMatch(/^head of payload-rehashed: root is [0-9a-f]{64}, the events give [0-9a-f]{64}; tips/);
  });

  it('non-canonical bytes', async () => {
    const { ledger, events } = await buildLedger(t.service, 'noncanonical');
    const pretty = Buffer.from(JSON.stringify(envelopeOfEvent(events[12]!), null, 1));
    await tamper(ds(), [`UPDATE events SET canonical = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, 12, pretty]]);
    const full = await verify('noncanonical', true);
    expectIssue(full, 'EVENT_MALFORMED', { index: 12 });
    expectIssue(full, 'EVENT_HASH_MISMATCH', { index: 12 });
  });

  it('a changed column only (type)', async () => {
    const { ledger, events } = await buildLedger(t.service, 'column');
    const last = events.length - 1;
    await tamper(
      ds(),
      [`UPDATE events SET type = 'Forged' WHERE ledger_id = $1 AND idx = $2`, [ledger.id, 23]],
      [`UPDATE events SET actor = 'user:mallory' WHERE ledger_id = $1 AND idx = $2`, [ledger.id, last]],
    );
    const full = await verify('column', true);
    expectIssue(full, 'EVENT_FIELD_MISMATCH', { index: 23 });
    expectIssue(full, 'EVENT_FIELD_MISMATCH', { index: last });
    expect(full.issues.find((i) => i.index === 23)!.message).toMatch(/\btype\b.*Forged/);
    expect(full.issues.find((i) => i.index === last)!.message).toMatch(/\bactor\b/);
    expect(full.issues).toHaveLength(2);
    expectIssue(await verify('column', false), 'EVENT_FIELD_MISMATCH', { index: last });
  });

  it('a changed column only (hlc_logical, parents, a field the envelope lacks)', async () => {
    const { ledger, events, chained } = await buildLedger(t.service, 'columns');
    const [a, b, c] = chained.filter((x) => x >= events.length - 30 && events[x]!.resource === null).slice(-3) as [number, number, number];
    await tamper(
      ds(),
      [`UPDATE events SET hlc_logical = hlc_logical + 1 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, a]],
      [`UPDATE events SET parents = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, b, Buffer.from(events[b - 2]!.id, 'hex')]],
      [`UPDATE events SET resource = 'doc/forged' WHERE ledger_id = $1 AND idx = $2`, [ledger.id, c]],
    );
    for (const full of [true, false]) {
      const report = await verify('columns', full);
      const mismatch = (index: number) => report.issues.find((i) => i.kind === 'EVENT_FIELD_MISMATCH' && i.index === index)?.message;
      expect(mismatch(a)).toMatch(/\bhlc_logical\b/);
      expect(mismatch(b)).toMatch(/\bparents\b/);
      expect(mismatch(c)).toMatch(/\bresource\b.*doc\/forged/);
    }
  });

  it('a changed column only (correlation_id, author): events the fast path hands to the full check', async () => {
    const { ledger, events, signed } = await buildLedger(t.service, 'columns-slow');
    const n = events.length;
    const correlated = events.filter((e) => e.correlationId !== null && e.index >= n - 30).at(-1)!.index;
    const authored = signed[signed.length - 1]!;
    await tamper(
      ds(),
      [`UPDATE events SET correlation_id = 'corr-forged' WHERE ledger_id = $1 AND idx = $2`, [ledger.id, correlated]],
      // The signature still verifies for the author the envelope names: only the column lies.
      [`UPDATE events SET author = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK' WHERE ledger_id = $1 AND idx = $2`, [ledger.id, authored]],
    );
    for (const full of [true, false]) {
      const report = await verify('columns-slow', full);
      const mismatch = (index: number) => report.issues.find((i) => i.kind === 'EVENT_FIELD_MISMATCH' && i.index === index)?.message;
      expect(mismatch(correlated)).toMatch(/\bcorrelation_id\b.*corr-forged/);
      expect(mismatch(authored)).toMatch(/\bauthor\b.*z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/);
      expect(report.issues).toHaveLength(2);
    }
  });

  it('a changed column only (hlc_ms)', async () => {
    const { ledger, events, chained } = await buildLedger(t.service, 'column-hlcms');
    const index = chained.filter((x) => x >= events.length - 20).at(-1)!;
    await tamper(ds(), [`UPDATE events SET hlc_ms = hlc_ms - 1000 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, index]]);
    for (const full of [true, false]) {
      const report = await verify('column-hlcms', full);
      expectIssue(report, 'EVENT_FIELD_MISMATCH', { index });
      expect(report.issues.find((i) => i.kind === 'EVENT_FIELD_MISMATCH')!.message).toMatch(/\bhlc_ms is \d+ but the envelope has \d+/);
    }
  });

  it('an extra parent appended to the parents column only', async () => {
    const { ledger, events, chained } = await buildLedger(t.service, 'extra-parent');
    // A real, earlier event: the parent checks alone find nothing wrong with it.
    const index = chained.filter((x) => x >= events.length - 20).at(-1)!;
    const parents = Buffer.concat([Buffer.from(events[index]!.parents[0]!, 'hex'), Buffer.from(events[2]!.id, 'hex')]);
    await tamper(ds(), [`UPDATE events SET parents = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, index, parents]]);
    for (const full of [true, false]) {
      const report = await verify('extra-parent', full);
      expectIssue(report, 'EVENT_FIELD_MISMATCH', { index });
      expect(report.issues.find((i) => i.kind === 'EVENT_FIELD_MISMATCH')!.message).toMatch(/\bparents\b/);
    }
  });

  it("a stored id rewritten: the event after it, which names it, has lost its parent", async () => {
    const { ledger, events, chained } = await buildLedger(t.service, 'rewritten-id');
    // Among the newest events, which quick mode reads, and named by the one after it.
    const index = chained.filter((x) => x >= events.length - 30 && chained.includes(x + 1)).at(-1)!;
    await tamper(ds(), [`UPDATE events SET id = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, index, randomHash()]]);
    for (const full of [true, false]) {
      const report = await verify('rewritten-id', full);
      expectIssue(report, 'EVENT_HASH_MISMATCH', { index });
      expectIssue(report, 'MISSING_PARENT', { index: index + 1 });
    }
  });

  it('a changed column of the same length (actor)', async () => {
    const { ledger, events } = await buildLedger(t.service, 'column-samelength');
    const index = events.length - 4;
    const actor = events[index]!.actor;
    const forged = actor.slice(0, -1) + (actor.endsWith('9') ? '8' : '9');
    await tamper(ds(), [`UPDATE events SET actor = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, index, forged]]);
    for (const full of [true, false]) {
      const report = await verify('column-samelength', full);
      expectIssue(report, 'EVENT_FIELD_MISMATCH', { index });
      expect(report.issues).toHaveLength(1);
    }
  });

  it('a signature emptied to no bytes is a signature that does not verify, not a missing one', async () => {
    const { ledger, signed } = await buildLedger(t.service, 'emptysig');
    const index = signed[1]!;
    await tamper(ds(), [`UPDATE events SET signature = '\\x'::bytea WHERE ledger_id = $1 AND idx = $2`, [ledger.id, index]]);
    const report = await verify('emptysig', true);
    expectIssue(report, 'EVENT_SIGNATURE', { index });
    expect(report.issues).toHaveLength(1);
  });

  it('canonical bytes that are not UTF-8', async () => {
    const { ledger, events } = await buildLedger(t.service, 'notutf8');
    // "héllo" with its é as the single Latin-1 byte 0xe9; the id recomputed to match.
    const index = events.length - 6;
    const bytes = Buffer.from(events[index]!.canonical);
    const at = bytes.indexOf(Buffer.from('h\u00e9llo', 'utf8'));
    expect(at).toBeGreaterThan(0);
    const latin1 = Buffer.concat([bytes.subarray(0, at + 1), Buffer.of(0xe9), bytes.subarray(at + 3)]);
    await tamper(ds(), [
      `UPDATE events SET canonical = $3, id = $4 WHERE ledger_id = $1 AND idx = $2`,
      [ledger.id, index, latin1, treeHasher('sha256').leafHash(latin1)],
    ]);
    for (const full of [true, false]) {
      const report = await verify('notutf8', full);
      expectIssue(report, 'EVENT_MALFORMED', { index });
      expect(report.issues.find((i) => i.kind === 'EVENT_MALFORMED')!.message).toMatch(/not valid UTF-8/);
    }
  });

  it('a deleted event (a sequence gap)', async () => {
    const { ledger, events } = await buildLedger(t.service, 'deleted');
    await tamper(ds(), [`DELETE FROM events WHERE ledger_id = $1 AND idx = $2`, [ledger.id, 31]]);
    const gap = await verify('deleted', true);
    expectIssue(gap, 'SEQUENCE_GAP', { index: 31 });
    // Past a gap the tree cannot be recomputed: nothing compared with it is blamed.
    expect(gap.issues.filter((i) => i.kind !== 'SEQUENCE_GAP' && i.kind !== 'MISSING_PARENT')).toEqual([]);
    // The newest event deleted: the head still counts it.
    await tamper(ds(), [`DELETE FROM events WHERE ledger_id = $1 AND idx = $2`, [ledger.id, events.length - 1]]);
    expectIssue(await verify('deleted', true), 'SEQUENCE_GAP', { index: events.length - 1 });
    expectIssue(await verify('deleted', false), 'SEQUENCE_GAP', { index: events.length - 1 });
    // One among the newest, which quick mode reads.
    await tamper(ds(), [`DELETE FROM events WHERE ledger_id = $1 AND idx = $2`, [ledger.id, events.length - 5]]);
    expectIssue(await verify('deleted', false), 'SEQUENCE_GAP', { index: events.length - 5 });
  });

  it('an event inserted beyond the head (unsequenced)', async () => {
    const { ledger, events } = await buildLedger(t.service, 'inserted');
    const last = events[events.length - 1]!;
    const env: Envelope = {
      ledger: ledger.origin,
      type: 'Sneaky',
      actor: 'user:mallory',
      parents: [last.id],
      hlc: { physicalMs: last.hlc.physicalMs + 1, logical: 0 },
    };
    const n = events.length;
    // Inserting needs no trigger switched off: the tables are append-only, not closed.
    const insert = async (idx: number, type: string) => {
      const f = forgedEventColumns(ledger.origin, { ...env, type });
      await ds().query(
        `INSERT INTO events (ledger_id, idx, id, canonical, type, actor, parents, hlc_ms, hlc_logical) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [ledger.id, idx, f.id, f.canonical, type, env.actor, f.parents, f.hlcMs, f.hlcLogical],
      );
    };
    await insert(n, 'Sneaky');
    const full = await verify('inserted', true);
    expectIssue(full, 'UNSEQUENCED_EVENT', { index: n });
    expect(full.issues).toHaveLength(1);
    expectIssue(await verify('inserted', false), 'UNSEQUENCED_EVENT', { index: n });
    // And one at a negative index.
    await insert(-1, 'Sneakier');
    for (const full of [true, false]) {
      const report = await verify('inserted', full);
      expectIssue(report, 'UNSEQUENCED_EVENT', { index: -1 });
      expectIssue(report, 'UNSEQUENCED_EVENT', { index: n });
    }
    // A second one beyond the head is reported too, not just the first.
    await insert(n + 1, 'Sneakiest');
    const report = await verify('inserted', true);
    expect(report.issues.filter((i) => i.kind === 'UNSEQUENCED_EVENT').map((i) => i.index)).toEqual([-1, n, n + 1]);
  });

  it('the newest event alone deleted: the gap at the end is all that is reported', async () => {
    const { ledger, events } = await buildLedger(t.service, 'deleted-tail');
    await tamper(ds(), [`DELETE FROM events WHERE ledger_id = $1 AND idx = $2`, [ledger.id, events.length - 1]]);
    const report = await verify('deleted-tail', true);
    expect(report.issues.map((i) => [i.kind, i.index])).toEqual([['SEQUENCE_GAP', events.length - 1]]);
  });

  it("two events' indexes swapped (reordered)", async () => {
    const { ledger, chained } = await buildLedger(t.service, 'swapped');
    // i and i+1 both plain chain links, i even so that one level-1 node covers both.
    const i = chained.find((x) => x % 2 === 0 && x >= 20 && chained.includes(x + 1))!;
    await tamper(
      ds(),
      [`UPDATE events SET idx = -1 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, i]],
      [`UPDATE events SET idx = $2 WHERE ledger_id = $1 AND idx = $3`, [ledger.id, i, i + 1]],
      [`UPDATE events SET idx = $2 WHERE ledger_id = $1 AND idx = -1`, [ledger.id, i + 1]],
    );
    const full = await verify('swapped', true);
    expectIssue(full, 'PARENT_ORDER', { index: i });
    expectIssue(full, 'TREE_MISMATCH', { index: i });
  });

  it('a bad event signature', async () => {
    const { ledger, events, signed } = await buildLedger(t.service, 'badsig');
    const index = signed[1]!;
    const sig = Buffer.from(events[index]!.signature!, 'hex');
    sig[10]! ^= 0x01;
    await tamper(ds(), [`UPDATE events SET signature = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, index, sig]]);
    const full = await verify('badsig', true);
    expectIssue(full, 'EVENT_SIGNATURE', { index });
    expect(full.issues).toHaveLength(1);
    // An author swapped for another did:key (columns and bytes) no longer matches the signature either.
    const lastSigned = signed[signed.length - 1]!;
    const env = envelopeOfEvent(events[lastSigned]!);
    env.author = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
    await forge(ledger.id, lastSigned, env, false);
    await tamper(ds(), [`UPDATE events SET author = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, lastSigned, env.author]]);
    expectIssue(await verify('badsig', false), 'EVENT_SIGNATURE', { index: lastSigned });
    // Signed bytes rewritten to name no author, or an author whose key cannot be found: the
    // signature is still there, so it must still be checked, and cannot be.
    for (const [author, why] of [[undefined, /names no author/], ['did:web:evil.example', /cannot check the signature/]] as const) {
      const forged = envelopeOfEvent(events[lastSigned]!);
      if (author === undefined) delete forged.author;
      else forged.author = author;
      await forge(ledger.id, lastSigned, forged, true);
      await tamper(ds(), [`UPDATE events SET author = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, lastSigned, author ?? null]]);
      const quick = await verify('badsig', false);
      expectIssue(quick, 'EVENT_SIGNATURE', { index: lastSigned });
      expect(quick.issues.find((i) => i.kind === 'EVENT_SIGNATURE' && i.index === lastSigned)!.message).toMatch(why);
    }
  });

  it("the server's signature stripped from an event it wrote in its own name", async () => {
    const { ledger } = await buildLedger(t.service, 'stripped');
    const own = async () => (await t.service.append('stripped', [{ type: 'TokensMinted', actor: 'chainproof', payload: { to: 'x', amount: '5' } }], { asServer: true }))[0]!;
    const [early, late] = [await own(), await own()];
    await t.service.append('stripped', [{ type: 'After', actor: 'user:1' }]);
    expect(early.author).toBe(t.service.serverKey!.did);
    // A copy synced from a peer is another node's record: a client there may name this server unsigned.
    const copy: Envelope = { ledger: 'peer.example/main', type: 'Claim', actor: 'x', author: early.author!, parents: [], hlc: { physicalMs: Date.now(), logical: 0 } };
    await t.service.appendReplicated('stripped', [{ canonical: canonicalBytes(copy), signature: null }]);
    expect((await verify('stripped', true)).issues).toEqual([]);
    expect((await verify('stripped', false)).issues).toEqual([]);
    await tamper(
      ds(),
      [`UPDATE events SET signature = NULL WHERE ledger_id = $1 AND idx = ANY($2::bigint[])`, [ledger.id, [early.index, late.index]]],
      // Its own origin in the column, as if synced: still an event first written here.
      [`UPDATE events SET origin = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, late.index, ledger.origin]],
    );
    const full = await verify('stripped', true);
    expectIssue(full, 'EVENT_SIGNATURE', { index: early.index });
    expectIssue(full, 'EVENT_SIGNATURE', { index: late.index });
    expect(full.issues).toHaveLength(2);
    expectIssue(await verify('stripped', false), 'EVENT_SIGNATURE', { index: late.index });
  });

  it('an HLC that is not after its parent', async () => {
    const { ledger, events, chained } = await buildLedger(t.service, 'hlc');
    const index = chained.find((x) => x > 50)!;
    const env = envelopeOfEvent(events[index]!);
    env.hlc = { ...events[index - 1]!.hlc }; // equal is not after
    await forge(ledger.id, index, env, false);
    const full = await verify('hlc', true);
    expectIssue(full, 'HLC_ORDER', { index });
    // Quick mode looks the parents of the newest events up.
    const tail = events.length - 2;
    const tailEnv = envelopeOfEvent(events[tail]!);
    const parent = events.find((e) => e.id === tailEnv.parents[0])!;
    tailEnv.hlc = { physicalMs: parent.hlc.physicalMs - 5, logical: 0 };
    await forge(ledger.id, tail, tailEnv, false);
    expectIssue(await verify('hlc', false), 'HLC_ORDER', { index: tail });
    expectIssue(await verify('hlc', true), 'HLC_ORDER', { index: tail });
  });

  it("an HLC equal to its parent's among the newest events (quick mode: equal is not after)", async () => {
    const { ledger, events } = await buildLedger(t.service, 'hlc-equal');
    const tail = events.length - 3;
    const env = envelopeOfEvent(events[tail]!);
    const parent = events.find((e) => e.id === env.parents[0])!;
    env.hlc = { ...parent.hlc };
    await forge(ledger.id, tail, env, false);
    expectIssue(await verify('hlc-equal', false), 'HLC_ORDER', { index: tail });
    expectIssue(await verify('hlc-equal', true), 'HLC_ORDER', { index: tail });
  });

  it('a missing parent', async () => {
    const { ledger, events, explicit } = await buildLedger(t.service, 'orphan');
    const index = explicit[0]!;
    const env = envelopeOfEvent(events[index]!);
    env.parents = [env.parents[0]!, randomHash().toString('hex')];
    await forge(ledger.id, index, env, true);
    const full = await verify('orphan', true);
    expectIssue(full, 'MISSING_PARENT', { index });
    const tail = events.length - 1;
    const tailEnv = envelopeOfEvent(events[tail]!);
    tailEnv.parents = [randomHash().toString('hex')];
    await forge(ledger.id, tail, tailEnv, true);
    expectIssue(await verify('orphan', false), 'MISSING_PARENT', { index: tail });
  });

  it('a parent that comes later', async () => {
    const { ledger, events } = await buildLedger(t.service, 'later');
    const env = envelopeOfEvent(events[30]!);
    env.parents = [events[60]!.id];
    await forge(ledger.id, 30, env, false);
    expectIssue(await verify('later', true), 'PARENT_ORDER', { index: 30 });
    // Among the newest events, quick mode sees it too.
    const n = events.length;
    const newer = envelopeOfEvent(events[n - 20]!);
    newer.parents = [events[n - 5]!.id];
    await forge(ledger.id, n - 20, newer, false);
    expectIssue(await verify('later', false), 'PARENT_ORDER', { index: n - 20 });
  });

  it('an envelope naming another ledger', async () => {
    const { ledger, events } = await buildLedger(t.service, 'elsewhere');
    const env = JSON.parse(canonicalize({ ...envelopeOfEvent(events[8]!), ledger: 'evil.example/main' })!) as Envelope;
    await forge(ledger.id, 8, env, true);
    expectIssue(await verify('elsewhere', true), 'EVENT_MALFORMED', { index: 8 });
  });

  it('an envelope naming another ledger whose name is as long as this one\'s', async () => {
    const { ledger, events } = await buildLedger(t.service, 'elsewhere-samelength');
    const index = events.length - 2;
    const origin = ledger.origin.slice(0, -1) + (ledger.origin.endsWith('x') ? 'y' : 'x');
    const env = JSON.parse(canonicalize({ ...envelopeOfEvent(events[index]!), ledger: origin })!) as Envelope;
    await forge(ledger.id, index, env, true);
    for (const full of [true, false]) {
      const report = await verify('elsewhere-samelength', full);
      expectIssue(report, 'EVENT_MALFORMED', { index });
      expect(report.issues.find((i) => i.kind === 'EVENT_MALFORMED')!.message).toMatch(/not this ledger's origin/);
    }
  });

  it('a synced event whose origin column names another peer of the same name length', async () => {
    const { ledger } = await buildLedger(t.service, 'synced-origin');
    const copy: Envelope = { ledger: 'peer.example/main', type: 'Claim', actor: 'x', parents: [], hlc: { physicalMs: Date.now(), logical: 0 } };
    const [synced] = await t.service.appendReplicated('synced-origin', [{ canonical: canonicalBytes(copy), signature: null }]);
    await t.service.append('synced-origin', [{ type: 'After', actor: 'user:1' }]);
    for (const full of [true, false]) expect((await verify('synced-origin', full)).issues).toEqual([]);
    await tamper(ds(), [`UPDATE events SET origin = 'peer.example/mail' WHERE ledger_id = $1 AND idx = $2`, [ledger.id, synced!.index]]);
    for (const full of [true, false]) {
      const report = await verify('synced-origin', full);
      expectIssue(report, 'EVENT_MALFORMED', { index: synced!.index });
      expect(report.issues.find((i) => i.kind === 'EVENT_MALFORMED')!.message).toMatch(/not the origin it was synced from "peer.example\/mail"/);
    }
  });
});
