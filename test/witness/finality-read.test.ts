import 'reflect-metadata';
import pino from 'pino';
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { cosignerFromSeed } from '../../src/ledger/note/index.js';
import { buildChainproofSchema } from '../../src/server/schema.js';
import { CosignatureCollector } from '../../src/witness/cosignatures.js';

/**
 * Cosignatures arrive while a response is being built: every read of the store here sees more
 * of them than the one before. The fields of one checkpoint must still tell one story.
 */
describe('a checkpoint read while cosignatures arrive', () => {
  const validators = [1, 2, 3, 4].map((i) => cosignerFromSeed(`w${i}.test`, Buffer.alloc(32, i)).verifierKey);
  let reads = 0;
  const store = {
    // Each read of the cosignature table returns two more lines than the last.
    async query() {
      reads++;
      return validators.slice(0, Math.min(2 * reads, 4)).map((witness) => ({ witness, line: `— ${witness.split('+')[0]} x\n`, cosigned_at: new Date(0) }));
    },
  };
  const collector = new CosignatureCollector(store as never, {} as never, validators.map((vkey) => ({ url: 'http://unused', vkey })), pino({ level: 'silent' }));
  const row = { id: 7, treeSize: 10, rootHash: Buffer.alloc(32), blockHeight: 1, timestampMs: 0, name: null, tags: [], note: 'body\n\n— log sig\n' };
  const context = { cosignatures: collector, ledger: { checkpoint: async () => row }, principal: { role: null } };

  it('answers finality, note and cosignatures from one read', async () => {
    const schema = await buildChainproofSchema({ publicReads: true });
    const r = await execute({ schema, document: parse(`{ checkpoint { finality note cosignatures { witness } } }`), contextValue: context });
    expect(r.errors).toBeUndefined();
    const c = r.data!.checkpoint as { finality: string; note: string; cosignatures: unknown[] };
    expect(reads).toBe(1);
    expect(c.cosignatures).toHaveLength(2);
    expect(c.finality).toBe('PENDING');
    expect(c.note.split('\n').filter((l) => l.startsWith('— w'))).toHaveLength(2);
  });
});
