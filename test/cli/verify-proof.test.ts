import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { treeHasher } from '../../src/ledger/merkle/index.js';
import { cosignerFromSeed, formatCheckpoint, formatTlogProof, noteSignerFromSeed, signNote } from '../../src/ledger/note/index.js';
import { BIN, cli } from '../support/cli.js';
import { proofFault } from '../../src/cli/verify-proof.js';

// A one-entry log, signed and cosigned here: verify-proof needs nothing else.
const dir = mkdtempSync(join(tmpdir(), 'chainproof-verify-proof-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = noteSignerFromSeed('log.test', Buffer.alloc(32, 1));
const witness = cosignerFromSeed('witness-a.test', Buffer.alloc(32, 2));
const other = cosignerFromSeed('witness-b.test', Buffer.alloc(32, 3));
const entry = Buffer.from('{"entry":1}');
const body = formatCheckpoint({ origin: 'log.test/main', treeSize: 1, rootHash: treeHasher('sha256').leafHash(entry) });
const file = join(dir, 'entry.tlog-proof');
writeFileSync(file, formatTlogProof({ index: 0, hashes: [], extra: entry, checkpoint: signNote(body, [log]) + witness.cosign(body, 1_800_000_000) }));

describe('chainproof verify-proof', () => {
  it('accepts the proof, and counts its one cosignature once', () => {
    const ok = cli(['verify-proof', file, '--key', log.verifierKey, '--witness', witness.verifierKey], {});
    expect(ok.stdout).toMatch(/^VALID: .*cosigned by 1 of 1 witnesses/);
    expect(ok.code).toBe(0);
    const short = cli(['verify-proof', file, '--key', log.verifierKey, '--witness', witness.verifierKey, '--witness', other.verifierKey, '--threshold', '2'], {});
    expect(short.code).toBe(1);
  });

  it('by default needs 2 of 2 witnesses: 1 of 2 could finalise a fork the other refused', () => {
    const r = cli(['verify-proof', file, '--key', log.verifierKey, '--witness', witness.verifierKey, '--witness', other.verifierKey], {});
    expect(r.stdout).toBe('INVALID: the checkpoint carries 1 valid cosignatures of the 2 witnesses; the policy needs 2\n');
    expect(r.code).toBe(1);
  });

  it('refuses a witness named twice rather than count its cosignature twice', () => {
    const [name, hash, key] = witness.verifierKey.split('+');
    for (const again of [witness.verifierKey, `${name}+${hash!.toUpperCase()}+${key}`]) {
      const r = cli(['verify-proof', file, '--key', log.verifierKey, '--witness', witness.verifierKey, '--witness', again, '--threshold', '2'], {});
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^chainproof: BAD_USER_INPUT: --witness .* names the same witness as /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
    }
  });

  it('refuses a checkpoint naming a tree hash it does not know, or naming one twice', () => {
    const cases: Array<[string[], Buffer, string]> = [
      [['hash md5'], treeHasher('sha256').leafHash(entry), 'INVALID: the checkpoint names tree hash md5, which this verifier does not know\n'],
      [['hash blake3', 'hash blake3'], treeHasher('blake3').leafHash(entry), 'INVALID: the checkpoint names its tree hash more than once\n'],
    ];
    for (const [extensions, rootHash, stdout] of cases) {
      const named = join(dir, `${extensions.join('-')}.tlog-proof`);
      const cp = formatCheckpoint({ origin: 'log.test/main', treeSize: 1, rootHash, extensions });
      writeFileSync(named, formatTlogProof({ index: 0, hashes: [], extra: entry, checkpoint: signNote(cp, [log]) }));
      const r = cli(['verify-proof', named, '--key', log.verifierKey], {});
      expect(r.stdout).toBe(stdout);
      expect(r.code).toBe(1);
    }
  });

  it('a malformed --key is bad usage (exit 2), not a proof that failed to verify (exit 1)', () => {
    for (const key of ['nonsense', `${log.verifierKey.slice(0, -4)}AAAA`]) {
      const r = cli(['verify-proof', file, '--key', key], {});
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^chainproof: BAD_USER_INPUT: --key: invalid verifier key: /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
    }
    const wrongLog = cli(['verify-proof', file, '--key', noteSignerFromSeed('log.test', Buffer.alloc(32, 9)).verifierKey], {});
    expect(wrongLog.stdout).toMatch(/^INVALID: /);
    expect(wrongLog.code).toBe(1);
  });

  it('a reader that goes away still gets the verdict as the exit code', async () => {
    const wrongLog = noteSignerFromSeed('log.test', Buffer.alloc(32, 9)).verifierKey;
    const child = spawn(process.execPath, [BIN, 'verify-proof', file, '--key', wrongLog], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(1);
  });

  it('refuses a file past 1 MB, a device or a directory as bad input, one line, without reading it all', () => {
    const large = join(dir, 'large.tlog-proof');
    writeFileSync(large, 'a'.repeat(1024 * 1024 + 1));
    const cases: Array<[string, RegExp]> = [
      [large, /is larger than 1048576 bytes, too large for a tlog-proof\n$/],
      ['/dev/zero', /is not a regular file\n$/],
      [dir, /is not a regular file\n$/],
    ];
    for (const [path, message] of cases) {
      const r = cli(['verify-proof', path, '--key', log.verifierKey], {});
      expect(r.stderr, path).toMatch(/^chainproof: BAD_USER_INPUT: <file>: [^\n]*\n$/);
      expect(r.stderr, path).toMatch(message);
      expect(r.code, path).toBe(2);
      expect(r.stdout).toBe('');
    }
  });

  it('checks --origin, and refuses a proof that carries no event bytes', () => {
    const ok = cli(['verify-proof', file, '--key', log.verifierKey, '--origin', 'log.test/main'], {});
    expect(ok.stdout).toBe(`VALID: event ${treeHasher('sha256').leafHash(entry).toString('hex')} is entry 0 of log.test/main (tree size 1)\n`);
    expect(ok.code).toBe(0);
    const other = cli(['verify-proof', file, '--key', log.verifierKey, '--origin', 'log.test/other'], {});
    expect(other.stdout).toBe('INVALID: checkpoint origin is log.test/main, not log.test/other\n');
    expect(other.code).toBe(1);
    const bare = join(dir, 'bare.tlog-proof');
    writeFileSync(bare, formatTlogProof({ index: 0, hashes: [], checkpoint: signNote(body, [log]) }));
    const r = cli(['verify-proof', bare, '--key', log.verifierKey], {});
    expect(r.stdout).toBe('INVALID: the proof carries no event bytes (extra line)\n');
    expect(r.code).toBe(1);
  });

  it('says why a checkpoint signed by another key does not verify, by its code', () => {
    const r = cli(['verify-proof', file, '--key', noteSignerFromSeed('log.test', Buffer.alloc(32, 9)).verifierKey], {});
    expect(r.stdout).toMatch(/^INVALID: [A-Z_]+: [^\n]+\n$/);
    expect(r.code).toBe(1);
  });

  it('counts a witness key listed under two names once: its one signature, relabelled, is not a second witness', () => {
    // The cosigned message does not hold the name: the same key under another name verifies the same signature.
    const alias = cosignerFromSeed('witness-alias.test', Buffer.alloc(32, 2));
    const relabelled = join(dir, 'relabelled.tlog-proof');
    const note = signNote(body, [log]) + witness.cosign(body, 1_800_000_000) + alias.cosign(body, 1_800_000_000);
    writeFileSync(relabelled, formatTlogProof({ index: 0, hashes: [], extra: entry, checkpoint: note }));
    const twice = cli(['verify-proof', relabelled, '--key', log.verifierKey, '--witness', witness.verifierKey, '--witness', alias.verifierKey, '--threshold', '2'], {});
    expect(twice.stdout).toBe('INVALID: the checkpoint carries 1 valid cosignatures of the 1 witnesses; the policy needs 2\n');
    expect(twice.code).toBe(1);
  });

  it('refuses other bytes than the checkpointed entry\'s', () => {
    const forged = join(dir, 'forged.tlog-proof');
    const other = Buffer.from('{"entry":2}');
    writeFileSync(forged, formatTlogProof({ index: 0, hashes: [], extra: other, checkpoint: signNote(body, [log]) }));
    const r = cli(['verify-proof', forged, '--key', log.verifierKey], {});
    expect(r.stdout).toBe(`INVALID: event ${treeHasher('sha256').leafHash(other).toString('hex')} is not at index 0 of the checkpointed tree\n`);
    expect(r.code).toBe(1);
  });

  it('a --threshold above the number of --witness keys is bad usage, not a proof that failed', () => {
    const r = cli(['verify-proof', file, '--key', log.verifierKey, '--witness', witness.verifierKey, '--threshold', '2'], {});
    expect(r.stderr).toBe('chainproof: BAD_USER_INPUT: --threshold must be an integer in 1..1\n');
    expect(r.code).toBe(2);
  });

  it('does not count a witness\'s cosignature of another checkpoint, copied onto this one', () => {
    const elsewhere = formatCheckpoint({ origin: 'log.test/main', treeSize: 2, rootHash: Buffer.alloc(32, 7) });
    const copied = join(dir, 'copied.tlog-proof');
    const note = signNote(body, [log]) + witness.cosign(body, 1_800_000_000) + other.cosign(elsewhere, 1_800_000_000);
    writeFileSync(copied, formatTlogProof({ index: 0, hashes: [], extra: entry, checkpoint: note }));
    const r = cli(['verify-proof', copied, '--key', log.verifierKey, '--witness', witness.verifierKey, '--witness', other.verifierKey], {});
    expect(r.stdout).toBe('INVALID: the checkpoint carries 1 valid cosignatures of the 2 witnesses; the policy needs 2\n');
    expect(r.code).toBe(1);
  });

  it('reads a proof of exactly 1 MB: the limit is what it takes', () => {
    const MB = 1024 * 1024;
    const sized = (bytes: number, origin: string) => {
      const extra = Buffer.alloc(bytes, 'x');
      const cp = formatCheckpoint({ origin, treeSize: 1, rootHash: treeHasher('sha256').leafHash(extra) });
      return formatTlogProof({ index: 0, hashes: [], extra, checkpoint: signNote(cp, [log]) });
    };
    // Each 3 bytes of the entry are 4 of base64; the origin makes up the rest.
    const room = MB - Buffer.byteLength(sized(0, 'log.test/main'));
    const text = sized(3 * Math.floor(room / 4), `log.test/main${'x'.repeat(room % 4)}`);
    expect(Buffer.byteLength(text)).toBe(MB);
    const large = join(dir, 'one-mb.tlog-proof');
    writeFileSync(large, text);
    const r = cli(['verify-proof', large, '--key', log.verifierKey], {});
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^VALID: /);
    expect(r.code).toBe(0);
  });
});

describe('a proof a ledger source answered (proofFault)', () => {
  // A two-entry log: entry 1's proof is entry 0's leaf hash.
  const h = treeHasher('sha256');
  const entries = [Buffer.from('{"entry":"a"}'), Buffer.from('{"entry":"b"}')];
  const leaves = entries.map((e) => h.leafHash(e));
  const two = formatCheckpoint({ origin: 'log.test/main', treeSize: 2, rootHash: h.nodeHash(leaves[0]!, leaves[1]!) });
  const bundle = { index: 1, hashes: [leaves[0]!.toString('hex')], canonical: entries[1]!.toString('base64'), note: signNote(two, [log]) };
  const id = leaves[1]!.toString('hex');

  it('finds nothing wrong with a true proof', () => {
    expect(proofFault(bundle, id)).toBeUndefined();
  });

  it("names a proof whose event bytes are another event's", () => {
    expect(proofFault({ ...bundle, canonical: entries[0]!.toString('base64') }, id)).toBe("its event bytes are another event's");
  });

  it('names a path that does not lead to the root of its checkpoint', () => {
    const why = 'it does not lead from entry 1 to the root of its checkpoint of size 2';
    expect(proofFault({ ...bundle, hashes: [leaves[1]!.toString('hex')] }, id)).toBe(why);
    expect(proofFault({ ...bundle, hashes: [] }, id)).toBe(why);
    expect(proofFault({ ...bundle, index: 0 }, id)).toBe('it does not lead from entry 0 to the root of its checkpoint of size 2');
  });

  it('names a checkpoint that does not parse, or names a hash it does not know', () => {
    expect(proofFault({ ...bundle, note: 'not a note' }, id)).toMatch(/^its checkpoint does not parse \([A-Z_]+\)$/);
    const unknown = formatCheckpoint({ origin: 'log.test/main', treeSize: 2, rootHash: h.nodeHash(leaves[0]!, leaves[1]!), extensions: ['hash md5'] });
    expect(proofFault({ ...bundle, note: signNote(unknown, [log]) }, id)).toBe('its checkpoint names no hash this CLI knows');
  });
});
