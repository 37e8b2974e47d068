import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  t = await openRules();
});
afterAll(async () => t?.close());

describe('the consumer', () => {
  it('mints on a trigger, once, with the execution parented by the trigger and its mint in the same append', async () => {
    const c = await t.rules.create('admin', contractInput({ condition: 'event.payload.severity >= contract.params.minSeverity', parameters: { minSeverity: 2 } }));
    const before = (await t.gov.account('ann')).balance;
    const trigger = await t.emit('bug_report', 'ann', { severity: 3 });
    await t.emit('bug_report', 'ann', { severity: 1 }); // condition false: no firing
    await t.emit('other', 'ann', { severity: 3 }); // not a trigger type
    await t.settled();
    expect((await t.gov.account('ann')).balance - before).toBe(15n);
    const [x, ...more] = await t.executions(c.id);
    expect(more).toEqual([]);
    expect(x).toMatchObject({ triggerIndex: trigger, ok: true });
    const fired = await t.service.eventAt('main', x!.index);
    expect(fired).toMatchObject({ type: 'ContractExecuted', subsystem: 'rules' });
    const triggerEvent = await t.service.eventAt('main', trigger);
    expect(fired!.parents).toEqual([triggerEvent!.id]);
    const mint = await t.service.eventAt('main', x!.index + 1);
    expect(mint).toMatchObject({ type: 'TokensMinted', subsystem: 'governance', payload: { to: 'ann', amount: '15', source: `contract:${c.id}:${triggerEvent!.id}` } });
    expect(x!.record.actions).toEqual([{ kind: 'mintTokens', ok: true, detail: { to: 'ann', amount: '15' } }]);
  });

  it('raises alerts from aggregates over a window and appends events computed from the trigger', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'QA monitor',
      trigger: { eventTypes: ['test_run'] },
      condition: 'count("test_run", 3600) >= 4 && ratio("test_run", "fail", 3600) > 0.5',
      actions: [
        { raiseAlert: { severity: 'CRITICAL', message: 'test success rate below 50%' } },
        { appendEvent: { type: 'qa_flag', payloadExpr: '{"run": event.payload.run, "failures": sum("test_run", "failed", 3600)}' } },
      ],
    }));
    const alerts = await t.rules.alerts();
    const runs = [['ok', 0], ['fail', 2], ['fail', 5], ['fail', 1]] as const;
    let last = 0;
    for (const [i, [result, failed]] of runs.entries()) last = await t.emit('test_run', 'ci', { run: i, failed }, { result });
    await t.settled();
    const [x, ...more] = await t.executions(c.id);
    expect(more).toEqual([]); // only the fourth run meets the condition
    expect(x).toMatchObject({ triggerIndex: last, ok: true });
    const alert = (await alerts.next()).value;
    expect(alert).toMatchObject({ type: 'AlertRaised', payload: { contractId: c.id, severity: 'CRITICAL', message: 'test success rate below 50%' } });
    await alerts.return?.();
    const flag = await t.service.eventAt('main', x!.index + 2);
    expect(flag).toMatchObject({ type: 'qa_flag', subsystem: 'rules', actor: `contract:${c.id}`, payload: { run: 3, failures: 8 } });
  });

  it('sums exactly, past any float8; a payload the aggregate cannot read fails its firing, not the consumer', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'donations',
      trigger: { eventTypes: ['donation'] },
      condition: 'sum("donation", "amount", 3600) > 100.0',
      actions: [{ raiseAlert: { severity: 'INFO', message: 'generous' } }],
    }));
    // Two of these overflowed a float8 sum: a database error on every retry, and every later event held up.
    await t.emit('donation', 'x', { amount: 1.7e308 });
    await t.emit('donation', 'x', { amount: 1.7e308 });
    // PostgreSQL's JSON functions refuse a \u0000 anywhere in the text: the same, deterministically.
    await t.emit('donation', 'x', { amount: 1, note: 'nul \u0000 inside' });
    const reward = await t.rules.create('admin', contractInput({ name: 'after the donations', condition: 'true' }));
    const before = (await t.gov.account('dora')).balance;
    const later = await t.emit('bug_report', 'dora', { severity: 3 });
    await t.settled();
    const xs = await t.executions(c.id);
    expect(xs.map((x) => x.ok)).toEqual([true, true, false]);
    expect(xs[2]!.record.error).toMatch(/^aggregates: /);
    expect((await t.executions(reward.id)).map((x) => x.triggerIndex)).toEqual([later]);
    expect((await t.gov.account('dora')).balance - before).toBeGreaterThanOrEqual(15n);
  });

  /**
   * Only class 22 (a data exception) is what the events hold: the same query may well succeed
   * when tried again after any other failure, class 25 (a transaction's state) included, though
   * it starts with 2.
   */
  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['25P02', 'current transaction is aborted, commands ignored until end of transaction block'],
  ])('retries a trigger whose aggregates met database error %s, rather than record its firing as failed', async (code, message) => {
    const type = `counted_${code.toLowerCase()}`;
    const c = await t.rules.create('admin', contractInput({ name: `counted ${code}`, trigger: { eventTypes: [type] }, condition: `count("${type}", 3600) >= 1` }));
    const query = t.db.dataSource.query.bind(t.db.dataSource);
    let failed = 0;
    const spy = vi.spyOn(t.db.dataSource, 'query').mockImplementation(async (sql, parameters) => {
      if (failed === 0 && /count\(\*\) AS v/.test(sql)) {
        failed++;
        throw Object.assign(new Error(message), { code });
      }
      return query(sql, parameters);
    });
    try {
      const index = await t.emit(type, 'cy');
      await t.settled();
      expect(failed).toBe(1);
      expect((await t.executions(c.id)).map((x) => [x.triggerIndex, x.ok])).toEqual([[index, true]]);
    } finally {
      spy.mockRestore();
    }
  });

  it('records a failing action and keeps going', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'fragile',
      trigger: { eventTypes: ['fragile'] },
      actions: [
        { mintTokens: { to: 'event.payload.who', amountExpr: 'event.payload.amount', reason: 'r' } },
        { raiseAlert: { severity: 'INFO', message: 'still here' } },
      ],
    }));
    await t.emit('fragile', 'x', { who: 'bo', amount: -5 }); // a negative mint fails
    await t.emit('fragile', 'x', { amount: 5 }); // no recipient
    await t.emit('fragile', 'x', { who: 'bo', amount: 5 });
    await t.settled();
    const xs = await t.executions(c.id);
    expect(xs.map((x) => [x.ok, x.record.actions.map((a) => a.ok)])).toEqual([
      [false, [false, true]],
      [false, [false, true]],
      [true, [true, true]],
    ]);
    expect(xs[1]!.record.actions[0]!.error).toMatch(/who/);
    expect((await t.gov.account('bo')).balance).toBe(5n);
  });

  it('stops a contract that triggers itself at the depth limit, and records it', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'echo',
      trigger: { eventTypes: ['TokensMinted'], subsystem: 'governance' },
      condition: 'event.payload.to == "echo"',
      actions: [{ mintTokens: { to: '"echo"', amountExpr: '1', reason: 'echo' } }],
    }));
    // Triggered by the same mints, its condition never true: past the depth limit it still does not fire.
    const bystander = await t.rules.create('admin', contractInput({
      name: 'bystander', trigger: { eventTypes: ['TokensMinted'], subsystem: 'governance' }, condition: 'event.payload.to == "nobody"',
    }));
    await t.gov.mint('admin', 'echo', '100', 'seed');
    await t.settled();
    const xs = await t.executions(c.id);
    expect(xs.map((x) => [x.ok, x.record.depth])).toEqual([[true, 1], [true, 2], [true, 3], [true, 4], [false, 5]]);
    expect(xs[4]!.error).toMatch(/depth limit/);
    expect(await t.executions(bystander.id)).toEqual([]);
    expect((await t.gov.account('echo')).balance).toBe(104n);
  });

  it('caps firings per actor in a window (reward farming)', async () => {
    const c = await t.rules.create('admin', contractInput({ name: 'capped', trigger: { eventTypes: ['farm'] }, limits: { maxFiringsPerActor: 2, windowSeconds: 3600 } }));
    for (let i = 0; i < 4; i++) await t.emit('farm', 'farmer');
    await t.emit('farm', 'other');
    await t.settled();
    expect((await t.gov.account('farmer')).balance).toBe(30n);
    expect((await t.gov.account('other')).balance).toBe(15n);
    expect(await t.executions(c.id)).toHaveLength(3);
    expect((await t.rules.executions(c.id, { first: 3 })).hasNextPage).toBe(false);
    expect((await t.rules.executions(c.id, { first: 2 })).hasNextPage).toBe(true);
  });

  it('bounds hostile input at run time: a regex bomb runs in linear time, an oversized payload fails the firing', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'hostile',
      trigger: { eventTypes: ['hostile'] },
      condition: 'event.payload.s.matches("^(a+)+$")',
      actions: [{ raiseAlert: { severity: 'INFO', message: 'matched' } }],
    }));
    await t.emit('hostile', 'h', { s: `${'a'.repeat(5_000)}!` }); // exponential for a backtracking engine
    await t.emit('hostile', 'h', { s: 'x'.repeat(10_000) });
    await t.emit('hostile', 'h', { s: 'aaa' });
    await t.settled();
    const xs = await t.executions(c.id);
    expect(xs.map((x) => [x.ok, x.error?.replace(/ \d+.*/, '')])).toEqual([[false, 'a payload string is longer than'], [true, undefined]]);
  });

  it('changes a ledger parameter the way an executed proposal does, and records what it refused', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'tune',
      trigger: { eventTypes: ['tune'] },
      actions: [{ setParameter: { ledger: 'main', name: 'checkpointInterval', valueExpr: 'event.payload.every' } }],
    }));
    // One append, so the consumer evaluates all four before writing: the refused one must not fail the others.
    const appended = await t.service.append('main', [777, -1, 0, 500].map((every) => ({ type: 'tune', actor: 'ops', payload: { every } })));
    const set = appended[0]!.index; // -1 is not a whole number (the action fails); 0 is out of the ledger's range (its projection refuses the append)
    await t.settled();
    expect((await t.service.ledger('main')).checkpointInterval).toBe(500);
    const xs = await t.executions(c.id);
    expect(xs.map((x) => x.ok)).toEqual([true, false, false, true]);
    expect(xs[0]!.record.actions).toEqual([{ kind: 'setParameter', ok: true, detail: { ledger: 'main', name: 'checkpointInterval', value: '777' } }]);
    expect(xs[1]!.record.actions[0]!.error).toMatch(/value must be a whole number/);
    expect(xs[2]!.error).toMatch(/append refused: .*checkpointInterval/);
    expect(xs[2]!.record).toMatchObject({ depth: 1, actions: [{ kind: 'setParameter', ok: false }] });
    const change = await t.service.eventAt('main', xs[0]!.index + 1);
    const trigger = await t.service.eventAt('main', set);
    expect(change).toMatchObject({ type: 'LedgerParameterSet', subsystem: 'governance', payload: { ledger: 'main', name: 'checkpointInterval', value: '777', source: `contract:${c.id}:${trigger!.id}` } });
  });

  it("does not change a reserved ledger's parameters: such a contract is refused, and one made before fails that action", async () => {
    await t.service.createLedger('keys', {});
    const { checkpointInterval } = await t.service.ledger('keys');
    const stretch = { trigger: { eventTypes: ['stretch'] }, actions: [{ setParameter: { ledger: 'keys', name: 'checkpointInterval', valueExpr: 'event.payload.every' } }] };
    const c = await t.rules.create('admin', contractInput({ name: 'stretch', ...stretch }));
    t.service.reserveLedger('keys');
    await expect(t.rules.create('admin', contractInput({ name: 'stretch again', ...stretch }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await t.emit('stretch', 'ops', { every: checkpointInterval * 100 });
    await t.settled();
    const [x] = await t.executions(c.id);
    expect(x!.record.actions).toEqual([{ kind: 'setParameter', ok: false, error: expect.stringMatching(/"keys" is reserved/) }]);
    expect((await t.service.ledger('keys')).checkpointInterval).toBe(checkpointInterval);
  });

  it('opens a proposal from its template as the rules identity; the live-proposal cap still holds', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'escalate',
      trigger: { eventTypes: ['incident'] },
      condition: 'event.payload.severity == "critical"',
      actions: [{ openProposal: { template: { title: 'Incident review', description: 'fund the fix', votingType: 'WEIGHTED', votingDelay: 0, votingPeriod: 3600, quorum: 0.1, threshold: 0.5, timelock: 0, actions: [{ mint: { to: 'fixers', amount: '50' } }] } } }],
    }));
    await t.emit('incident', 'mon', { severity: 'minor' });
    const first = await t.emit('incident', 'mon', { severity: 'critical' });
    for (let i = 0; i < 3; i++) await t.emit('incident', 'mon', { severity: 'critical' });
    await t.settled();
    const xs = await t.executions(c.id);
    expect(xs.map((x) => x.ok)).toEqual([true, true, true, false]); // three live proposals per proposer
    expect(xs[3]!.error).toMatch(/append refused: .*live proposals/);
    expect(xs[0]!.record.actions).toEqual([{ kind: 'openProposal', ok: true, detail: { title: 'Incident review', actions: 1 } }]);
    const opened = await t.service.eventAt('main', xs[0]!.index + 1);
    const trigger = await t.service.eventAt('main', first);
    expect(opened).toMatchObject({ type: 'ProposalCreated', subsystem: 'governance', payload: { proposer: 'rules', source: `contract:${c.id}:${trigger!.id}` } });
    const p = await t.gov.proposal(opened!.id);
    expect(p).toMatchObject({ proposer: 'rules', title: 'Incident review', description: 'fund the fix', state: 'ACTIVE', actions: [{ kind: 'mint', to: 'fixers', amount: '50' }] });
  });

  it('bounds evaluation cost: string blow-up, regex automata, big comprehensions and deep comparisons stop at the budget', async () => {
    const s = 'event.payload.s';
    const hostile = [
      `event.payload.l.map(x, ${Array(8).fill(s).join(' + ')}).size() > 0`, // 256 × 64 KiB of strings
      `${s}.matches("[a-z]{1,100}[a-z]{1,100}[a-z]{1,100}$")`, // a short pattern with a 600-instruction automaton
      `(${Array(20).fill('event.payload.l').join(' + ')}).all(x, x in (${Array(20).fill('event.payload.l').join(' + ')}))`, // 5,120² comparisons
      'event.payload.l.all(x, event.payload.n == event.payload.n)', // a deep value compared on every iteration
      `event.payload.l.exists(x, ${s}.contains(${s} + "!")) || true`, // || does not hide the exhausted budget
    ];
    const ids: string[] = [];
    for (const [i, condition] of hostile.entries()) {
      ids.push((await t.rules.create('admin', contractInput({ name: `costly ${i}`, trigger: { eventTypes: ['costly'] }, condition, actions: [{ raiseAlert: { severity: 'INFO', message: 'm' } }] }))).id);
    }
    const benign = await t.rules.create('admin', contractInput({
      name: 'benign', trigger: { eventTypes: ['costly'] },
      condition: `event.payload.l.all(x, x >= 0) && ${s}.matches("^a+$") && event.payload.l.map(x, x * 2).size() == 256`,
      actions: [{ raiseAlert: { severity: 'INFO', message: 'fine' } }],
    }));
    const l = Array.from({ length: 256 }, (_, i) => i);
    await t.emit('costly', 'mallory', { s: 'a'.repeat(8_000), l, n: Array.from({ length: 30 }, () => l) });
    await t.settled();
    for (const id of ids) {
      const [x, ...more] = await t.executions(id);
      expect(more).toEqual([]);
      expect(x).toMatchObject({ ok: false, error: expect.stringMatching(/^condition: evaluation cost exceeded the budget of \d+/) });
    }
    expect((await t.executions(benign.id)).map((x) => x.ok)).toEqual([true]);
  });

  it('changed parameters apply from the next event on', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'tunable', trigger: { eventTypes: ['tunable'] },
      actions: [{ mintTokens: { to: 'event.actor', amountExpr: 'contract.params.amount', reason: 'r' } }], parameters: { amount: 3 },
    }));
    await t.emit('tunable', 'tess');
    await t.rules.setParameters('admin', c.id, { amount: 7 });
    await t.emit('tunable', 'tess');
    await t.settled();
    expect((await t.gov.account('tess')).balance).toBe(10n);
    expect((await t.rules.contract(c.id))!.definition.parameters).toEqual({ amount: 7 });
    await expect(t.rules.setParameters('admin', c.id, [1])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('triggers only on the subsystem and actor it names', async () => {
    const c = await t.rules.create('admin', contractInput({ name: 'scoped', trigger: { eventTypes: ['scoped'], subsystem: 'app', actor: 'sam' } }));
    const match = await t.emit('scoped', 'sam', {}, { subsystem: 'app' });
    await t.emit('scoped', 'sam'); // no subsystem
    await t.emit('scoped', 'sam', {}, { subsystem: 'web' });
    await t.emit('scoped', 'sid', {}, { subsystem: 'app' });
    await t.settled();
    expect((await t.executions(c.id)).map((x) => x.triggerIndex)).toEqual([match]);
  });

  it('fires only on a condition that is true; one that evaluates to another type is a failed execution, not a silent skip', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'dynamic condition', trigger: { eventTypes: ['flagged'] }, condition: 'event.payload.flag',
      actions: [{ raiseAlert: { severity: 'INFO', message: 'flagged' } }],
    }));
    expect(c.definition.boolCondition).toBe(true);
    const text = await t.emit('flagged', 'fl', { flag: 'yes' });
    const one = await t.emit('flagged', 'fl', { flag: 1 });
    await t.emit('flagged', 'fl', { flag: false });
    const yes = await t.emit('flagged', 'fl', { flag: true });
    await t.settled();
    expect((await t.executions(c.id)).map((x) => [x.triggerIndex, x.ok, x.record.error ?? null])).toEqual([
      [text, false, 'condition: evaluated to string, not bool'],
      [one, false, 'condition: evaluated to int, not bool'],
      [yes, true, null],
    ]);
    expect(await t.treeSize()).toBe((await t.executions(c.id)).at(-1)!.index + 2); // the last execution and its alert
  });

  it('records an action whose computed value has the wrong type as failed, and writes nothing for it', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'mistyped', trigger: { eventTypes: ['mistyped'] },
      actions: [
        { mintTokens: { to: 'event.payload.who', amountExpr: '1', reason: 'r' } },
        { setParameter: { ledger: 'main', name: 'checkpointInterval', valueExpr: 'event.payload.every' } },
        { appendEvent: { type: 'mistyped_out', payloadExpr: 'event.payload.body' } },
      ],
    }));
    const interval = (await t.service.ledger('main')).checkpointInterval;
    const index = await t.emit('mistyped', 'mo', { who: 5, every: [interval + 1], body: [1, 2] });
    await t.settled();
    const [x, ...more] = await t.executions(c.id);
    expect(more).toEqual([]);
    expect(x).toMatchObject({ triggerIndex: index, ok: false });
    expect(x!.record.actions.map((a) => [a.ok, a.error])).toEqual([
      [false, 'to must evaluate to a string'],
      [false, 'valueExpr must evaluate to a whole number'],
      [false, 'payloadExpr must evaluate to a map'],
    ]);
    expect((await t.service.ledger('main')).checkpointInterval).toBe(interval);
    expect(await t.treeSize()).toBe(x!.index + 1); // the execution alone
  });

  it('a failed firing does not count against the per-actor cap', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'capped once', trigger: { eventTypes: ['once'] }, limits: { maxFiringsPerActor: 1, windowSeconds: 3600 },
      actions: [{ mintTokens: { to: 'event.actor', amountExpr: 'event.payload.amount', reason: 'r' } }],
    }));
    // One append: the failed firing is still unwritten when the next trigger is evaluated.
    const [failed, fired] = await t.service.append('main', [-5, 5, 5].map((amount) => ({ type: 'once', actor: 'fay', payload: { amount } })));
    await t.emit('once', 'fay', { amount: 5 }); // and the written one does
    await t.settled();
    expect((await t.executions(c.id)).map((x) => [x.triggerIndex, x.ok])).toEqual([[failed!.index, false], [fired!.index, true]]);
    expect((await t.gov.account('fay')).balance).toBe(5n);
  });

  it('a deactivated contract stops firing from the next event on', async () => {
    const c = await t.rules.create('admin', contractInput({ name: 'off', trigger: { eventTypes: ['offable'] } }));
    await t.emit('offable', 'dee');
    await t.rules.setActive('admin', c.id, false);
    await t.emit('offable', 'dee');
    await t.settled();
    expect(await t.executions(c.id)).toHaveLength(1);
  });
});

describe('replay', () => {
  it('re-running every contract over the ledger reproduces the recorded firings, and notices one that was not', async () => {
    await t.settled();
    const { count } = (await t.db.dataSource.query(`SELECT count(*)::int AS count FROM rules_executions`))[0];
    const r = await t.rules.replay();
    expect(r.mismatches).toEqual([]);
    expect(r).toMatchObject({ ok: true, firings: count });
    expect(count).toBeGreaterThan(10);

    // A firing the contracts do not produce (as a faulty or forged engine would write it).
    const [x] = (await t.db.dataSource.query(`SELECT record FROM rules_executions ORDER BY idx LIMIT 1`));
    await t.service.append('main', [{ type: 'ContractExecuted', actor: 'rules', subsystem: 'rules', payload: { ...x.record, actions: [] } }], { asServer: true });
    const forged = await t.rules.replay();
    expect(forged.ok).toBe(false);
    expect(forged.mismatches).toEqual([expect.objectContaining({ contractId: x.record.contractId, triggerIndex: x.record.triggerIndex, kind: 'unexpected' })]);
  });
});
