import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  inclusionProof,
  treeHasher,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/merkle/index.js';
import { MemoryReader, leafHash, mth } from './reference.js';

const DIR = fileURLToPath(new URL('../../../shared/vectors/rfc6962/', import.meta.url));

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? jsonFiles(p) : name.endsWith('.json') ? [p] : [];
  });
}

// Plain Uint8Array, not Buffer: the verifiers must not depend on Node's Buffer.
const bytes = (b64: string | null): Uint8Array => new Uint8Array(Buffer.from(b64 ?? '', 'base64'));
const proofOf = (p: string[] | null): Uint8Array[] => (p ?? []).map(bytes);
const load = (f: string): Record<string, any> => JSON.parse(readFileSync(f, 'utf8'));
const label = (f: string): string => relative(DIR, f);

const inclusion = jsonFiles(join(DIR, 'inclusion'));
const consistency = jsonFiles(join(DIR, 'consistency'));

describe('RFC 6962 golden vectors (transparency-dev/merkle testdata)', () => {
  it('finds the vectors', () => {
    expect(existsSync(DIR), `golden vectors missing at ${DIR}`).toBe(true);
    expect(inclusion.length).toBeGreaterThan(0);
    expect(consistency.length).toBeGreaterThan(0);
  });

  it('verifyInclusion accepts exactly the vectors without wantErr', () => {
    let checked = 0;
    for (const f of inclusion) {
      const v = load(f);
      const ok = verifyInclusion('sha256', v.leafIdx, v.treeSize, bytes(v.leafHash), proofOf(v.proof), bytes(v.root));
      expect(ok, `${label(f)}: ${v.desc}`).toBe(!v.wantErr);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('verifyConsistency accepts exactly the vectors without wantErr', () => {
    let checked = 0;
    for (const f of consistency) {
      const v = load(f);
      const ok = verifyConsistency('sha256', v.size1, v.size2, bytes(v.root1), bytes(v.root2), proofOf(v.proof));
      expect(ok, `${label(f)}: ${v.desc}`).toBe(!v.wantErr);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

// The vectors' happy paths come from the classic 8-entry CT test tree, so the prover can be
// checked to produce those exact proofs, not merely ones that verify.
describe('prover reproduces the golden proofs', () => {
  const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
  const leaves = data.map((h) => leafHash('sha256', Buffer.from(h, 'hex')));
  const hasher = treeHasher('sha256');
  const happy = (kind: string) => (kind === 'inclusion' ? inclusion : consistency).filter((f) => f.endsWith('happy-path.json'));

  it('has known roots', () => {
    expect(mth('sha256', leaves).toString('hex')).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
    expect(mth('sha256', leaves.slice(0, 5)).toString('hex')).toBe('4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4');
  });

  it('inclusion happy paths', async () => {
    const files = happy('inclusion').filter((f) => load(f).treeSize <= 8);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const v = load(f);
      const reader = new MemoryReader('sha256', leaves, v.treeSize);
      expect(Buffer.from(v.leafHash, 'base64').equals(leaves[v.leafIdx]!), label(f)).toBe(true);
      const proof = await inclusionProof(reader, hasher, v.leafIdx, v.treeSize);
      expect(proof.map((p) => p.toString('base64')), label(f)).toEqual(v.proof ?? []);
    }
  });

  it('consistency happy paths', async () => {
    const files = happy('consistency');
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const v = load(f);
      const reader = new MemoryReader('sha256', leaves, v.size2);
      expect(mth('sha256', leaves.slice(0, v.size2)).toString('base64'), label(f)).toBe(v.root2);
      const proof = await consistencyProof(reader, hasher, v.size1, v.size2);
      expect(proof.map((p) => p.toString('base64')), label(f)).toEqual(v.proof ?? []);
    }
  });
});
