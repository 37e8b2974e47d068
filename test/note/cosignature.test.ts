import { createHash, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  COSIGNATURE_ALG,
  cosignerFromSeed,
  formatCheckpoint,
  noteSignerFromSeed,
  parseCosignerKey,
  verifyCosignature,
} from '../../src/ledger/note/index.js';
import { opensslPrivateKey } from '../../src/ledger/events/ed25519.js';
import { thrownCodeOf } from '../support/codes.js';

const seed = Buffer.alloc(32, 11);
const witness = cosignerFromSeed('witness.example', seed);
const key = parseCosignerKey(witness.verifierKey);
const body = formatCheckpoint({ origin: 'log.example/main', treeSize: 7, rootHash: Buffer.alloc(32, 2) });
const T = 1_700_000_123;

/** A cosignature line built here from c2sp.org/tlog-cosignature, not by the code under test. */
function lineFor(name: string, keyHash: Buffer, timestamp: bigint, signed = `cosignature/v1\ntime ${timestamp}\n${body}`): string {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(timestamp);
  const sig = cryptoSign(null, Buffer.from(signed, 'utf8'), opensslPrivateKey(seed));
  return `\u2014 ${name} ${Buffer.concat([keyHash, time, sig]).toString('base64')}\n`;
}
const rawOf = (line: string) => Buffer.from(line.trimEnd().slice(line.lastIndexOf(' ') + 1), 'base64');
const lineOf = (name: string, raw: Buffer) => `\u2014 ${name} ${raw.toString('base64')}\n`;

describe('cosignatures (c2sp.org/tlog-cosignature)', () => {
  it('the key hash and the verifier key use signature type 0x04', () => {
    expect(COSIGNATURE_ALG).toBe(0x04);
    const want = createHash('sha256').update('witness.example').update(Buffer.from([0x0a, 0x04])).update(witness.publicKey).digest().subarray(0, 4);
    expect(witness.keyHash.equals(want)).toBe(true);
    const [, hash, b64] = witness.verifierKey.split('+') as [string, string, string];
    expect(hash).toBe(want.toString('hex'));
    expect(Buffer.from(b64, 'base64')[0]).toBe(0x04);
  });

  it('signs "cosignature/v1", the time line and the checkpoint body, and puts the time in the line big-endian', () => {
    const line = witness.cosign(body, T);
    expect(line).toBe(lineFor(witness.name, witness.keyHash, BigInt(T)));
    expect(rawOf(line).readBigUInt64BE(4)).toBe(BigInt(T));
  });

  it('verifies its own line, with or without the newline, and gives back the time', () => {
    const line = witness.cosign(body, T);
    expect(verifyCosignature(body, line, key)).toEqual({ timestampS: T });
    expect(verifyCosignature(body, line.trimEnd(), key)).toEqual({ timestampS: T });
  });

  it('refuses a cosignature over another checkpoint', () => {
    const other = formatCheckpoint({ origin: 'log.example/main', treeSize: 8, rootHash: Buffer.alloc(32, 2) });
    expect(verifyCosignature(other, witness.cosign(body, T), key)).toBeNull();
  });

  it('refuses a changed signature byte or a changed time', () => {
    const raw = rawOf(witness.cosign(body, T));
    const sigFlipped = Buffer.from(raw);
    sigFlipped[40]! ^= 1;
    expect(verifyCosignature(body, lineOf(witness.name, sigFlipped), key)).toBeNull();
    const timeFlipped = Buffer.from(raw);
    timeFlipped[11]! ^= 1;
    expect(verifyCosignature(body, lineOf(witness.name, timeFlipped), key)).toBeNull();
  });

  it('refuses a valid signature relabelled with another name of the same length', () => {
    const raw = rawOf(witness.cosign(body, T));
    const other = 'witness.exampl3';
    expect(other).toHaveLength(witness.name.length);
    expect(verifyCosignature(body, lineOf(other, raw), key)).toBeNull();
  });

  it('refuses a valid signature whose name runs into it without the separating space', () => {
    const line = witness.cosign(body, T);
    expect(verifyCosignature(body, line.replace(`${witness.name} `, `${witness.name}x`), key)).toBeNull();
  });

  it('gives null, not an exception, for a line too short or too long to be a cosignature', () => {
    const raw = rawOf(witness.cosign(body, T));
    for (const cut of [raw.subarray(0, 4), raw.subarray(0, 11), raw.subarray(0, 75), Buffer.concat([raw, Buffer.of(0)])]) {
      expect(verifyCosignature(body, lineOf(witness.name, cut), key)).toBeNull();
    }
  });

  it('refuses a valid signature under another key hash', () => {
    const raw = rawOf(witness.cosign(body, T));
    raw[0]! ^= 0xff;
    expect(verifyCosignature(body, lineOf(witness.name, raw), key)).toBeNull();
  });

  it('refuses a time beyond 2^53-1, even when the signature covers it', () => {
    const t = 2n ** 53n + 2n; // prints exactly as a JS number
    expect(String(Number(t))).toBe(String(t));
    expect(verifyCosignature(body, lineFor(witness.name, witness.keyHash, t), key)).toBeNull();
    expect(verifyCosignature(body, lineFor(witness.name, witness.keyHash, 2n ** 53n - 1n), key)).toEqual({ timestampS: 2 ** 53 - 1 });
  });

  it('refuses a line whose signature is too short or too long', () => {
    const raw = rawOf(witness.cosign(body, T));
    expect(verifyCosignature(body, lineOf(witness.name, raw.subarray(0, 75)), key)).toBeNull();
    expect(verifyCosignature(body, lineOf(witness.name, Buffer.concat([raw, Buffer.of(0)])), key)).toBeNull();
  });
});

describe('parseCosignerKey', () => {
  const codeOf = (vkey: string) => thrownCodeOf(() => parseCosignerKey(vkey));
  const pub = witness.publicKey;
  const keyFor = (name: string, alg: number, k: Buffer, hashAlg = alg) => {
    const hash = createHash('sha256').update(name).update(Buffer.from([0x0a, hashAlg])).update(k).digest().subarray(0, 4).toString('hex');
    return `${name}+${hash}+${Buffer.concat([Buffer.of(alg), k]).toString('base64')}`;
  };

  it('reads back what cosignerFromSeed writes', () => {
    expect(keyFor('w.example', 0x04, pub)).toBe(cosignerFromSeed('w.example', seed).verifierKey);
    expect(parseCosignerKey(keyFor('w.example', 0x04, pub)).publicKey.equals(pub)).toBe(true);
  });

  it.each([
    ['a note-signing key (type 0x01)', () => noteSignerFromSeed('w.example', seed).verifierKey],
    ['type 0x01 bytes with a 0x04 key hash', () => keyFor('w.example', 0x01, pub, 0x04)],
    ['missing parts', () => witness.verifierKey.split('+').slice(0, 2).join('+')],
    ['an empty name', () => keyFor('', 0x04, pub)],
    ['a name with a space', () => keyFor('w example', 0x04, pub)],
    ['a 33-byte key', () => keyFor('w.example', 0x04, Buffer.concat([pub, Buffer.of(1)]))],
    ['a 31-byte key', () => keyFor('w.example', 0x04, pub.subarray(1))],
    ['a wrong key hash', () => witness.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')],
  ])('refuses %s', (_label, vkey) => {
    expect(codeOf(vkey())).toBe('BAD_VERIFIER_KEY');
  });
});
