import type { NodeReader, NodeRef, TreeHasher } from '../merkle/index.js';
import { storedTree } from '../tree-store.js';
import type { Snapshot } from './snapshot.js';

/** Stored nodes a read needed but the database does not have. */
export class MissingNodes extends Error {
  constructor(readonly refs: NodeRef[]) {
    super(`stored tree nodes missing: ${refs.map((r) => `(level ${r.level}, index ${r.index})`).join(', ')}`);
  }
}

/**
 * Stored full subtrees, except that every subtree reaching into the tail [start, end) is
 * recomputed from the tail's leaves instead of read: so roots computed through it (rootAt,
 * subtreeRoot, consistency proofs) rest on the freshly hashed tail events and O(log n)
 * stored nodes to their left. A subtree straddling `start` is its two children, recursively.
 */
export class TailTree implements NodeReader {
  private readonly stored: NodeReader;
  private readonly computed = new Map<string, Buffer>();

  constructor(
    db: Snapshot,
    ledgerId: number,
    private readonly hasher: TreeHasher,
    readonly start: number,
    /** Leaf hashes of [start, start + leaves.length); undefined where an event is missing. */
    private readonly leaves: Array<Buffer | undefined>,
  ) {
    this.stored = storedTree(db, ledgerId);
  }

  get end(): number {
    return this.start + this.leaves.length;
  }

  async getNodes(refs: NodeRef[]): Promise<Buffer[]> {
    const wanted = new Map<string, NodeRef>();
    const collect = (r: NodeRef): void => {
      const from = r.index * 2 ** r.level;
      const to = from + 2 ** r.level;
      if (to <= this.start) wanted.set(`${r.level}:${r.index}`, r);
      else if (from < this.start) {
        collect({ level: r.level - 1, index: r.index * 2 });
        collect({ level: r.level - 1, index: r.index * 2 + 1 });
      }
    };
    refs.forEach(collect);
    const storedRefs = [...wanted.values()];
    const hashes = await this.readStored(storedRefs);
    const byKey = new Map(storedRefs.map((r, i) => [`${r.level}:${r.index}`, hashes[i]!]));
    const resolve = (r: NodeRef): Buffer => {
      const from = r.index * 2 ** r.level;
      const to = from + 2 ** r.level;
      if (to <= this.start) return byKey.get(`${r.level}:${r.index}`)!;
      if (from >= this.start) return this.node(r.level, r.index);
      return this.hasher.nodeHash(resolve({ level: r.level - 1, index: r.index * 2 }), resolve({ level: r.level - 1, index: r.index * 2 + 1 }));
    };
    return refs.map(resolve);
  }

  /** A full subtree inside the tail, from its leaves. Throws if a leaf is missing or beyond the tail. */
  node(level: number, index: number): Buffer {
    if (level === 0) {
      const leaf = this.leaves[index - this.start];
      if (!leaf) throw new RangeError(`leaf ${index} is not in the verified tail`);
      return leaf;
    }
    const key = `${level}:${index}`;
    let hash = this.computed.get(key);
    if (!hash) {
      hash = this.hasher.nodeHash(this.node(level - 1, index * 2), this.node(level - 1, index * 2 + 1));
      this.computed.set(key, hash);
    }
    return hash;
  }

  private async readStored(refs: NodeRef[]): Promise<Buffer[]> {
    if (refs.length === 0) return [];
    try {
      return await this.stored.getNodes(refs);
    } catch (e) {
      // Name exactly which nodes are gone (rare: costs a look-up per node).
      const missing: NodeRef[] = [];
      for (const r of refs) {
        try {
          await this.stored.getNodes([r]);
        } catch {
          missing.push(r);
        }
      }
      if (missing.length > 0) throw new MissingNodes(missing);
      throw e;
    }
  }
}
