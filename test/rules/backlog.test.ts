import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  // The consumer starts on a backlog: contracts are learnt from the pages it reads.
  t = await openRules({ consumer: false });
});
afterAll(async () => t?.close());

describe('a backlog read with the contracts learnt on the way', () => {
  it('evaluates every event after each contract, with the fields and payload its expressions read', async () => {
    // No contract at the cursor: the first page read has only the engine's own events.
    const late = await t.rules.create('admin', contractInput({ name: 'late', trigger: { eventTypes: ['late'] } }));
    const lateTrigger = await t.emit('late', 'lou');
    // Reads the payload, while the contract before it does not.
    const reader = await t.rules.create('admin', contractInput({ name: 'reader', trigger: { eventTypes: ['later'] }, condition: 'event.payload.x == 1' }));
    const readerTrigger = await t.emit('later', 'lou', { x: 1 });
    await t.emit('later', 'lou', { x: 2 });
    // An event of a type no contract triggers on yet, then a contract on it: later events of that
    // type are in the page read before the contract was learnt.
    await t.emit('mid', 'mo', { x: 0 });
    const fields = await t.rules.create('admin', contractInput({
      name: 'fields',
      trigger: { eventTypes: ['mid'] },
      actions: [{ appendEvent: { type: 'seen', payloadExpr: '{"id": event.id, "index": event.index, "type": event.type, "actor": event.actor, "author": event.author, "resource": event.resource, "result": event.result, "subsystem": event.subsystem, "ms": event.hlc.physicalMs, "logical": event.hlc.logical, "x": event.payload.x}' } }],
    }));
    const midTrigger = await t.emit('mid', 'mo', { x: 7 }, { resource: 'res/1', result: 'ok', subsystem: 'app' });

    await t.rules.startConsumer(pino({ level: 'silent' }));
    await t.settled();
    expect((await t.executions(late.id)).map((x) => [x.triggerIndex, x.ok])).toEqual([[lateTrigger, true]]);
    expect((await t.executions(reader.id)).map((x) => [x.triggerIndex, x.ok])).toEqual([[readerTrigger, true]]);
    const [seen, ...more] = await t.executions(fields.id);
    expect(more).toEqual([]);
    expect(seen).toMatchObject({ triggerIndex: midTrigger, ok: true });
    const trigger = (await t.service.eventAt('main', midTrigger))!;
    const appended = await t.service.eventAt('main', seen!.index + 1);
    expect(appended).toMatchObject({ type: 'seen' });
    expect(appended!.payload).toEqual({
      id: trigger.id, index: trigger.index, type: 'mid', actor: 'mo', author: null, resource: 'res/1', result: 'ok', subsystem: 'app',
      ms: trigger.hlc.physicalMs, logical: trigger.hlc.logical, x: 7,
    });
    const r = await t.rules.replay();
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
