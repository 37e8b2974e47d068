import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  // Appends of at most 5 events: a firing here is 2 (ContractExecuted and its mint), so a batch holds 2 triggers.
  t = await openRules({ maxBatch: 5 });
});
afterAll(async () => t?.close());

describe('batched settlement', () => {
  it('splits a backlog into appends within the batch limit, never a trigger\'s firings across two, and caps count unwritten firings', async () => {
    const every = await t.rules.create('admin', contractInput({ name: 'every', trigger: { eventTypes: ['batched'] } }));
    const twice = await t.rules.create('admin', contractInput({ name: 'twice', trigger: { eventTypes: ['batched'] }, limits: { maxFiringsPerActor: 3, windowSeconds: 3600 } }));
    const append = vi.spyOn(t.service, 'append');
    const triggers = await t.service.append('main', Array.from({ length: 9 }, () => ({ type: 'batched', actor: 'bea' })));
    await t.settled();
    const fired = async (id: string) => (await t.rules.executions(id, { first: 100 })).items.map((i) => i.node);
    expect((await fired(every.id)).map((x) => [x.triggerIndex, x.ok])).toEqual(triggers.map((e) => [e.index, true]));
    expect((await fired(twice.id)).map((x) => x.triggerIndex)).toEqual(triggers.slice(0, 3).map((e) => e.index));
    expect((await t.gov.account('bea')).balance).toBe(15n * 12n);
    // Every append the consumer made (or tried) stayed within the limit: 6 for the 24 events, a trigger's 4 or 2 never split.
    const sizes = append.mock.calls.filter(([, , options]) => options?.asServer).map(([, inputs]) => inputs.length);
    expect(sizes.every((n) => n <= 5)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(24);
    append.mockRestore();
    const r = await t.rules.replay();
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
  });

  /** The cap is per trigger actor: one actor's unwritten firing must not count against another's in the same batch. */
  it('counts only the same actor\'s unwritten firings against the per-actor cap', async () => {
    const once = await t.rules.create('admin', contractInput({ name: 'once each', trigger: { eventTypes: ['batched_pair'] }, limits: { maxFiringsPerActor: 1, windowSeconds: 3600 } }));
    const triggers = await t.service.append('main', ['ada', 'bo', 'ada', 'bo'].map((actor) => ({ type: 'batched_pair', actor })));
    await t.settled();
    expect((await t.rules.executions(once.id, { first: 100 })).items.map((i) => i.node.triggerIndex)).toEqual(triggers.slice(0, 2).map((e) => e.index));
  });
});
