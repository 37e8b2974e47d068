import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { cosignerFromSeed } from '../../src/ledger/note/index.js';
import { CosignatureCollector, quorumOf } from '../../src/witness/cosignatures.js';

const faulty = (n: number) => Math.floor((n - 1) / 3);

describe('finality quorum', () => {
  it('any two quorums share f+1 validators, and the n−f honest ones reach one', () => {
    for (let n = 1; n <= 100; n++) {
      const q = quorumOf(n);
      expect(2 * q - n, `n = ${n}`).toBeGreaterThanOrEqual(faulty(n) + 1);
      expect(q, `n = ${n}`).toBeLessThanOrEqual(n - faulty(n));
    }
  });

  it('is 2f+1 of n = 3f+1, as the design says', () => {
    for (let f = 0; f <= 30; f++) expect(quorumOf(3 * f + 1)).toBe(2 * f + 1);
  });

  it.each([
    [2, 2],
    [3, 2],
    [5, 4],
    [6, 4],
  ])('with %i validators a checkpoint is FINAL from %i cosignatures, not before', (n, q) => {
    const validators = Array.from({ length: n }, (_, i) => ({ url: 'http://unused', vkey: cosignerFromSeed(`w${i}.test`, Buffer.alloc(32, i + 1)).verifierKey }));
    const collector = new CosignatureCollector({} as never, {} as never, validators, pino({ level: 'silent' }));
    expect(collector.finalityOf(q - 1)).toBe('PENDING');
    expect(collector.finalityOf(q)).toBe('FINAL');
  });

  it('is never reached without validators', () => {
    const collector = new CosignatureCollector({} as never, {} as never, [], pino({ level: 'silent' }));
    expect(collector.finalityOf(0)).toBe('PENDING');
  });
});
