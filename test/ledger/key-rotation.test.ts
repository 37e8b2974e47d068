import { createHash } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { openNote } from '../../src/ledger/note/index.js';
import { openServerKey } from '../../src/ledger/server-key.js';
import { replayProvenance } from '../../src/provenance/rebuild.js';
import { ProvenanceService } from '../../src/provenance/service.js';
import { openTestLedger, testConfig } from '../support/ledger.js';

const NEW_SEED = '22'.repeat(32);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('rotating the server signing key on a database', () => {
  it('starts with the old verifier key listed as previous, signs with the new one, and verifies the whole log with both', async () => {
    const first = await openTestLedger({}, { produceBlocks: false });
    const db = { kind: 'postgres' as const, dataSource: first.db.dataSource };
    let second: LedgerService | undefined;
    try {
      const oldKey = first.service.serverKey!;
      await first.service.append('main', Array.from({ length: 5 }, (_, i) => ({ type: 'x', actor: `a${i}` })));
      await new ProvenanceService(first.db.dataSource, first.service).recordSource('main', { locator: 'git://cfg@1', contentHash: sha('cfg'), mediaType: 'text/plain' }, 'curator');
      await first.service.createCheckpoint('main');
      await first.service.stop();

      // Another seed alone: refused, as ever; the message says how to rotate.
      await expect(openServerKey(testConfig({ CHAINPROOF_SIGNING_SEED: NEW_SEED }), db)).rejects.toMatchObject({
        code: 'SIGNING_KEY_MISMATCH',
        message: expect.stringContaining('CHAINPROOF_PREVIOUS_VERIFIER_KEYS'),
      });
      const config = testConfig({ CHAINPROOF_SIGNING_SEED: NEW_SEED, CHAINPROOF_PREVIOUS_VERIFIER_KEYS: oldKey.note.verifierKey });
      const newKey = (await openServerKey(config, db))!.key;
      expect(newKey.previous).toEqual([oldKey.note.verifierKey]);
      expect(newKey.dids).toEqual([newKey.did, oldKey.did]);
      second = new LedgerService(first.db.dataSource, config, newKey, pino({ level: 'silent' }), { produceBlocks: false });
      await second.start();
      await second.append('main', [{ type: 'x', actor: 'after' }]);
      const cp = await second.createCheckpoint('main');
      expect(openNote(cp.note).signatures.map((s) => s.keyHash.toString('hex'))).toEqual([newKey.note.verifierKey.split('+')[1]]);

      // The server's default: the current key and the previous ones.
      for (const full of [true, false]) expect((await second.verify('main', full)).issues).toEqual([]);
      // One key alone finds the checkpoints the other signed.
      const onlyNew = await second.verify('main', true, { verifierKeys: [newKey.note.verifierKey] });
      expect(onlyNew.issues.map((i) => i.kind)).toEqual(['CHECKPOINT_SIGNATURE']);
      expect(onlyNew.issues[0]!.message).toMatch(/no signature by the trusted key/);
      const onlyOld = await second.verify('main', true, { verifierKeys: [oldKey.note.verifierKey] });
      expect(onlyOld.issues).toEqual([expect.objectContaining({ kind: 'CHECKPOINT_SIGNATURE', checkpointId: cp.id })]);

      // The old key's records are still the server's: provenance rebuilds them; with the new DID alone it would not.
      const main = await second.ledger('main');
      expect(await replayProvenance(first.db.dataSource, main, newKey.dids)).toMatchObject({ ok: true, eventsReplayed: 1 });
      expect((await replayProvenance(first.db.dataSource, main, [newKey.did])).ok).toBe(false);
      // Nor may a client write unsigned in the old key's name.
      await expect(second.append('main', [{ type: 'x', actor: 'm', author: oldKey.did }])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });

      // Once the new key has signed, it starts alone.
      const aloneConfig = testConfig({ CHAINPROOF_SIGNING_SEED: NEW_SEED });
      const alone = (await openServerKey(aloneConfig, db))!.key;
      expect(alone.previous).toEqual([]);
      // And alone it signs on: the checkpoint it is held to is the newest, its own, not the old key's first ones.
      await second.stop();
      second = new LedgerService(first.db.dataSource, aloneConfig, alone, pino({ level: 'silent' }), { produceBlocks: false });
      await second.start();
      await second.append('main', [{ type: 'x', actor: 'alone' }]);
      const later = await second.createCheckpoint('main');
      expect(openNote(later.note).signatures.map((s) => s.keyHash.toString('hex'))).toEqual([newKey.note.verifierKey.split('+')[1]]);
    } finally {
      await second?.stop();
      await first.db.destroy();
    }
  });
});
