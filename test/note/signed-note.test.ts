import { createHash, sign as cryptoSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeKeyHash,
  formatVerifierKey,
  MAX_SIGNATURES,
  noteSignerFromSeed,
  openNote,
  parseVerifierKey,
  signNote,
  verifyNote,
} from '../../src/ledger/note/index.js';
import { SigningThreads } from '../../src/ledger/note/signing-threads.js';
import { opensslPrivateKey } from '../../src/ledger/events/ed25519.js';
import { thrownCodeOf } from '../support/codes.js';

// noble signs synchronously only given a SHA-512 (the comparison below signs with it).
if (!ed.hashes.sha512) ed.hashes.sha512 = sha512;

const exampleFile = readFileSync(new URL('../../../shared/vectors/signed-note-example.txt', import.meta.url), 'utf8');

/** Pulls the verifier key and the note out of the vector file's prose. */
function loadExample(): { vkey: string; note: string } {
  const lines = exampleFile.split('\n');
  const vkey = lines[lines.indexOf('verifier key:') + 1]!.trim();
  const sigIdx = lines.findIndex((l) => l.startsWith('\u2014 '));
  // The message line sits two lines above the signature (message, blank, signature).
  const note = `${lines[sigIdx - 2]}\n\n${lines[sigIdx]}\n`;
  return { vkey, note };
}

const seed = (b: number) => new Uint8Array(32).fill(b);

describe('C2SP signed-note example', () => {
  const { vkey, note } = loadExample();

  it('parses the vector file as expected', () => {
    expect(vkey).toBe('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
    expect(note.startsWith('This is an example message.\n\n\u2014 example.com/foo ')).toBe(true);
  });

  it('verifies', () => {
    expect(verifyNote(note, [vkey])).toEqual({ text: 'This is an example message.\n', verifiedBy: ['example.com/foo'] });
  });

  it('parses the verifier key', () => {
    const k = parseVerifierKey(vkey);
    expect(k.name).toBe('example.com/foo');
    expect(k.keyHash.toString('hex')).toBe('530d903a');
    expect(k.publicKey).toHaveLength(32);
  });

  it('rejects any single changed byte of the message', () => {
    const text = 'This is an example message.\n';
    for (let i = 0; i < text.length - 1; i++) {
      const flipped = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 0x01) + text.slice(i + 1);
      expect(thrownCodeOf(() => verifyNote(flipped + note.slice(text.length), [vkey]))).toBe('BAD_SIGNATURE');
    }
  });

  it('rejects a changed signature byte', () => {
    const sigLine = note.slice(note.lastIndexOf('\n\n') + 2);
    const b64 = sigLine.slice(sigLine.lastIndexOf(' ') + 1, -1);
    const raw = Buffer.from(b64, 'base64');
    raw[10]! ^= 0x40;
    const tampered = note.replace(b64, raw.toString('base64'));
    expect(thrownCodeOf(() => verifyNote(tampered, [vkey]))).toBe('BAD_SIGNATURE');
  });

  it('treats signatures from unknown keys as absent', () => {
    const other = noteSignerFromSeed('example.com/foo', seed(9)).verifierKey;
    expect(thrownCodeOf(() => verifyNote(note, [other]))).toBe('UNVERIFIED_NOTE');
    expect(thrownCodeOf(() => verifyNote(note, []))).toBe('UNVERIFIED_NOTE');
  });
});

describe('noteSignerFromSeed', () => {
  const alice = noteSignerFromSeed('log.example/alice', seed(1));
  const bob = noteSignerFromSeed('log.example/bob', seed(2));

  it('round-trips sign and verify', () => {
    const note = signNote('hello\nworld\n', [alice]);
    expect(verifyNote(note, [alice.verifierKey])).toEqual({ text: 'hello\nworld\n', verifiedBy: ['log.example/alice'] });
    expect(openNote(note).signatures[0]!.keyHash.equals(alice.keyHash)).toBe(true);
  });

  it('signs many on its threads what it signs here, in order, with several lists in flight at once', async () => {
    const lists = [3, 64, 257, 1000].map((n, k) => Array.from({ length: n }, (_, i) => Buffer.from(`list ${k} event ${i} `.repeat(1 + (i % 7)))));
    const signed = await Promise.all(lists.map((l) => alice.signMany(l)));
    signed.forEach((sigs, k) => expect(sigs).toEqual(lists[k]!.map((m) => alice.sign(m))));
    expect(await bob.signMany(lists[2]!)).toEqual(lists[2]!.map((m) => bob.sign(m)));
  });

  it.each(['libsodium', 'openssl'] as const)('splits a list across however many %s signing threads it has, and keeps the order', async (library) => {
    const key = opensslPrivateKey(seed(3));
    const threads = new SigningThreads(seed(3), library, 3);
    const messages = Array.from({ length: 100 }, (_, i) => Buffer.from(`message ${i}`));
    const signed = await threads.signAll(messages);
    expect(signed).toEqual(messages.map((m) => cryptoSign(null, m, key)));
  });

  it('a list its threads cannot sign is refused with the reason, not answered with bad signatures', async () => {
    // libsodium's threads take the seed as it is; one of the wrong length fails there, on the first list.
    await expect(new SigningThreads(Buffer.alloc(5), 'libsodium', 2).signAll([Buffer.from('a'), Buffer.from('b')])).rejects.toThrow(/signing thread failed/);
  });

  it('is rejected by a different key', () => {
    const note = signNote('hello\n', [alice]);
    expect(thrownCodeOf(() => verifyNote(note, [bob.verifierKey]))).toBe('UNVERIFIED_NOTE');
  });

  it('rejects a forged line carrying a known name and key hash', () => {
    // Bob's signature relabelled as Alice's: known key, wrong signature.
    const forged = signNote('hello\n', [bob]).replace(`\u2014 ${bob.name} `, `\u2014 ${alice.name} `);
    const sigB64 = forged.slice(forged.lastIndexOf(' ') + 1, -1);
    const raw = Buffer.from(sigB64, 'base64');
    alice.keyHash.copy(raw, 0);
    const note = forged.replace(sigB64, raw.toString('base64'));
    expect(thrownCodeOf(() => verifyNote(note, [alice.verifierKey]))).toBe('BAD_SIGNATURE');
  });

  it('supports multiple signers and texts containing blank lines', () => {
    const text = 'para one\n\npara two\n';
    const note = signNote(text, [alice, bob]);
    expect(verifyNote(note, [bob.verifierKey, alice.verifierKey])).toEqual({ text, verifiedBy: [alice.name, bob.name] });
    expect(verifyNote(note, [bob.verifierKey]).verifiedBy).toEqual([bob.name]);
  });

  it('matches noble ed25519 signatures byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (sk, msg) => {
        const signer = noteSignerFromSeed('k', sk);
        expect(Buffer.from(ed.getPublicKey(sk)).equals(signer.publicKey)).toBe(true);
        expect(Buffer.from(ed.sign(msg, sk)).equals(signer.sign(msg))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('produces a verifier key that parses back to itself', () => {
    const k = parseVerifierKey(alice.verifierKey);
    expect(k.publicKey.equals(alice.publicKey)).toBe(true);
    expect(k.keyHash.equals(alice.keyHash)).toBe(true);
  });

  it('validates key names and seeds', () => {
    for (const name of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b', 'a\u2003b', 'a\nb']) {
      expect(thrownCodeOf(() => noteSignerFromSeed(name, seed(1)))).toBe('BAD_KEY_NAME');
    }
    expect(() => noteSignerFromSeed('ok', new Uint8Array(31))).toThrow(RangeError);
  });

  it('refuses to sign malformed text', () => {
    for (const text of ['', 'no newline', 'tab\there\n', 'bad \ud800 surrogate\n']) {
      expect(thrownCodeOf(() => signNote(text, [alice]))).toBe('MALFORMED_NOTE');
    }
    expect(thrownCodeOf(() => signNote('x\n', []))).toBe('MALFORMED_NOTE');
  });
});

describe('parseVerifierKey', () => {
  const good = noteSignerFromSeed('example.com/k', seed(3)).verifierKey;
  it('accepts keys whose base64 contains "+" (split at the first two only)', () => {
    let n = 0;
    for (let i = 0; i < 400 && n < 5; i++) {
      const signer = noteSignerFromSeed('example.com/k', seed(i));
      if (signer.verifierKey.split('+').length <= 3) continue;
      n++;
      expect(parseVerifierKey(signer.verifierKey).publicKey.equals(signer.publicKey)).toBe(true);
      expect(verifyNote(signNote('hi\n', [signer]), [signer.verifierKey]).verifiedBy).toEqual(['example.com/k']);
    }
    expect(n).toBe(5);
  });
  it.each([
    ['missing parts', 'example.com/k+530d903a'],
    ['extra part', `${good}+x`],
    ['short hash', good.replace(/\+[0-9a-f]{8}\+/, '+530d90+')],
    // Buffer.from(hex) stops at the first non-hex character: the 8 digits alone would match.
    ['hash with trailing characters', good.replace(/\+([0-9a-f]{8})\+/, '+$1zz+')],
    ['wrong hash', good.replace(/\+[0-9a-f]{8}\+/, '+00000000+')],
    ['wrong alg byte', `example.com/k+${good.split('+')[1]}+${Buffer.concat([Buffer.from([2]), parseVerifierKey(good).publicKey]).toString('base64')}`],
    ['bad base64', `${good.slice(0, -1)}!`],
    ['empty name', good.replace('example.com/k', '')],
  ])('rejects %s', (_label, vkey) => {
    expect(thrownCodeOf(() => parseVerifierKey(vkey))).toBe('BAD_VERIFIER_KEY');
  });
});

describe('openNote', () => {
  const signer = noteSignerFromSeed('example.com/k', seed(4));
  const note = signNote('body\n', [signer]);
  const sigLine = note.slice('body\n\n'.length);

  it.each([
    ['no blank line', 'body\n' + sigLine],
    ['no signatures', 'body\n\n'],
    ['missing final newline', note.slice(0, -1)],
    ['ascii dashes', note.replace('\u2014', '--')],
    ['a hyphen for the em dash', note.replace('\u2014', '-')],
    ['a name with "+"', 'body\n\n' + sigLine.replace('example.com/k', 'example.com+k')],
    ['a name with a no-break space', 'body\n\n' + sigLine.replace('example.com/k', 'example.com\u00a0k')],
    ['no space after name', 'body\n\n\u2014 example.com/k\n'],
    ['no space, the rest all base64', 'body\n\n\u2014 AAAAAAAA\n'],
    ['non-canonical base64', note.replace(/=\n$/, '\n')],
    ['short signature', 'body\n\n\u2014 example.com/k AAAA\n'],
    ['control character', note.replace('body', 'bo\u0007dy')],
    ['too many signatures', 'body\n\n' + sigLine.repeat(101)],
  ])('rejects %s', (_label, bad) => {
    expect(thrownCodeOf(() => openNote(bad))).toBe('MALFORMED_NOTE');
  });

  it('splits at the last blank line, so a blank line among signatures moves them into the text', () => {
    const odd = note + '\n' + sigLine;
    expect(openNote(odd).text).toBe('body\n\n' + sigLine);
    expect(thrownCodeOf(() => verifyNote(odd, [signer.verifierKey]))).toBe('BAD_SIGNATURE');
  });

  it('accepts the maximum number of signatures', () => {
    expect(openNote('body\n\n' + sigLine.repeat(100)).signatures).toHaveLength(100);
  });
});

describe('verifyNote refuses what a lenient verifier would take', () => {
  const signer = noteSignerFromSeed('example.com/strict', seed(5));
  const text = 'strict\n';
  const note = signNote(text, [signer]);
  /** The note with its one signature line replaced by `raw` (key hash || signature), base64. */
  const withRaw = (raw: Buffer) => `${text}\n\u2014 ${signer.name} ${raw.toString('base64')}\n`;
  const rawOf = (n: string) => Buffer.from(n.slice(n.lastIndexOf(' ') + 1, -1), 'base64');

  it('a valid signature with a byte appended does not verify', () => {
    const raw = rawOf(note);
    expect(verifyNote(withRaw(raw), [signer.verifierKey]).verifiedBy).toEqual([signer.name]);
    expect(thrownCodeOf(() => verifyNote(withRaw(Buffer.concat([raw, Buffer.of(0)])), [signer.verifierKey]))).toBe('BAD_SIGNATURE');
  });

  it('a line holding only a key hash is malformed', () => {
    expect(thrownCodeOf(() => openNote(withRaw(signer.keyHash)))).toBe('MALFORMED_NOTE');
  });

  it('a signature whose base64 has non-zero padding bits is malformed, though it decodes to the valid bytes', () => {
    const b64 = rawOf(note).toString('base64');
    // 68 bytes: the last character before "=" carries two unused bits.
    expect(b64.endsWith('=') && !b64.endsWith('==')).toBe(true);
    const last = b64[b64.length - 2]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sloppy = b64.slice(0, -2) + alphabet[alphabet.indexOf(last) | 1] + '=';
    expect(sloppy).not.toBe(b64);
    expect(Buffer.from(sloppy, 'base64').equals(rawOf(note))).toBe(true);
    const bad = `${text}\n\u2014 ${signer.name} ${sloppy}\n`;
    expect(thrownCodeOf(() => openNote(bad))).toBe('MALFORMED_NOTE');
    expect(thrownCodeOf(() => verifyNote(bad, [signer.verifierKey]))).toBe('MALFORMED_NOTE');
  });

  it('a signature line repeated by the same key counts once', () => {
    const line = note.slice(text.length + 1);
    expect(verifyNote(note + line, [signer.verifierKey]).verifiedBy).toEqual([signer.name]);
  });

  it('a small-order public key does not make a trivial signature verify (strict RFC 8032)', () => {
    // The identity point as the key, and R = identity, S = 0: cofactored (ZIP-215) rules accept it for any message.
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    const name = 'example.com/small-order';
    const keyHash = computeKeyHash(name, identity);
    const vkey = formatVerifierKey(name, keyHash, identity);
    expect(parseVerifierKey(vkey).publicKey.equals(identity)).toBe(true);
    const forged = `anything at all\n\n\u2014 ${name} ${Buffer.concat([keyHash, identity, Buffer.alloc(32)]).toString('base64')}\n`;
    expect(thrownCodeOf(() => verifyNote(forged, [vkey]))).toBe('BAD_SIGNATURE');
  });

  it('two different keys listed under one name and key hash are refused', () => {
    // Two seeds whose keys share the 4-byte key hash under name "k" (found by search).
    const seedOf = (i: number) => createHash('sha256').update(`seed ${i}`).digest();
    const a = noteSignerFromSeed('k', seedOf(130810));
    const b = noteSignerFromSeed('k', seedOf(159861));
    expect(a.keyHash.equals(b.keyHash)).toBe(true);
    expect(a.publicKey.equals(b.publicKey)).toBe(false);
    expect(thrownCodeOf(() => verifyNote(signNote('x\n', [a]), [a.verifierKey, b.verifierKey]))).toBe('BAD_VERIFIER_KEY');
    // The same key twice is fine.
    expect(verifyNote(signNote('x\n', [a]), [a.verifierKey, a.verifierKey]).verifiedBy).toEqual(['k']);
  });
});

describe('parseVerifierKey refuses keys whose hash matches but whose parts are bad', () => {
  const pub = noteSignerFromSeed('example.com/k', seed(6)).publicKey;
  const withHash = (name: string, key: Buffer) => formatVerifierKey(name, computeKeyHash(name, key), key);

  it.each([
    ['a 33-byte key', 'example.com/k', Buffer.concat([pub, Buffer.of(7)])],
    ['a 31-byte key', 'example.com/k', pub.subarray(1)],
    ['an empty name', '', pub],
    ['a name with a space', 'example.com k', pub],
    ['a name with a lone surrogate', 'example.com/\ud800', pub],
  ])('%s', (_label, name, key) => {
    expect(thrownCodeOf(() => parseVerifierKey(withHash(name, key)))).toBe('BAD_VERIFIER_KEY');
  });
});

describe('signNote limits', () => {
  it(`signs with up to ${MAX_SIGNATURES} signers, and refuses more`, () => {
    const signers = Array.from({ length: MAX_SIGNATURES + 1 }, (_, i) => noteSignerFromSeed(`s${i}`, seed(i)));
    const note = signNote('many\n', signers.slice(0, MAX_SIGNATURES));
    expect(openNote(note).signatures).toHaveLength(MAX_SIGNATURES);
    expect(thrownCodeOf(() => signNote('many\n', signers))).toBe('MALFORMED_NOTE');
  });

  it('refuses a signer whose key hash is not 4 bytes', () => {
    const good = noteSignerFromSeed('example.com/k', seed(8));
    const odd = { ...good, keyHash: Buffer.concat([good.keyHash, Buffer.of(0)]) };
    expect(() => signNote('x\n', [odd])).toThrow(TypeError);
  });

  it('refuses every ASCII control but newline, from NUL to U+001F', () => {
    const good = noteSignerFromSeed('example.com/k', seed(8));
    for (let c = 0; c < 0x20; c++) {
      if (c === 0x0a) continue;
      const ch = String.fromCharCode(c);
      expect(thrownCodeOf(() => signNote(`a${ch}b\n`, [good])), `U+${c.toString(16)}`).toBe('MALFORMED_NOTE');
      expect(thrownCodeOf(() => openNote(`a${ch}b\n\n${signNote('x\n', [good]).slice(3)}`))).toBe('MALFORMED_NOTE');
    }
  });
});
