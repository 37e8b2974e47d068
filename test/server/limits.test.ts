import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { buildSchema, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { limitRules } from '../../src/server/limits.js';
import { buildChainproofSchema } from '../../src/server/schema.js';

const schema = buildSchema(`
  type Event { index: Int! id: String! }
  type EventEdge { node: Event! }
  type EventConnection { edges: [EventEdge!]! }
  type Query { events(first: Int): EventConnection! ledger: String }
`);
const rules = limitRules({ maxDepth: 12, maxAliases: 30, maxCost: 50_000 });
const codes = (document: DocumentNode) => validate(schema, document, [...specifiedRules, ...rules]).map((e) => e.extensions.code ?? e.message);

/** F0 spreads F1 twice, F1 spreads F2 twice, …: 2^n copies of F<n> once expanded, from a few hundred bytes. */
function doubling(n: number, leaf: string): string {
  let defs = `fragment F${n} on Query { ${leaf} }\n`;
  for (let i = 0; i < n; i++) defs += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return `{ ...F0 }\n${defs}`;
}

/** Counts how often the limit rule reads a fragment's selections: the work it does, without a clock. */
function countingFragmentReads(document: DocumentNode): { reads: () => number } {
  let reads = 0;
  for (const d of document.definitions) {
    if (d.kind !== 'FragmentDefinition') continue;
    const set = d.selectionSet;
    Object.defineProperty(d, 'selectionSet', {
      get() {
        reads++;
        return set;
      },
    });
  }
  return { reads: () => reads };
}

describe('limit rules', () => {
  it('count aliases inside introspection: each repeats a walk of the whole schema', () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: fields { name }`).join(' ');
    expect(codes(parse(`{ __schema { types { ${aliases} } } }`))).toContain('ALIAS_LIMIT');
    expect(codes(parse(`{ __type(name: "Event") { a: fields { name } b: name } }`))).toEqual([]);
  });

  it('measure each fragment once, however often it is spread', () => {
    const document = parse(doubling(20, 'ledger'));
    const counter = countingFragmentReads(document);
    const rule = validate(schema, document, rules);
    // Expanded, the document is 2^20 `ledger` fields: its cost says so, and is refused.
    expect(rule.map((e) => e.extensions.code)).toEqual(['COST_LIMIT']);
    expect(counter.reads()).toBeLessThanOrEqual(2 * 21);
  });

  it('still sees depth, cost and aliases through fragments and inline fragments', () => {
    const deep = `{ events(first: 1) { ...E } } fragment E on EventConnection { edges { ... on EventEdge { node { index } } } }`;
    expect(validate(schema, parse(deep), limitRules({ maxDepth: 3, maxAliases: 30, maxCost: 50_000 })).map((e) => e.extensions.code)).toEqual(['DEPTH_LIMIT']);
    expect(validate(schema, parse(deep), limitRules({ maxDepth: 4, maxAliases: 30, maxCost: 50_000 }))).toEqual([]);
    // events(first: 300) × (edges + node + index) + events itself.
    const costly = `{ events(first: 300) { ...E } } fragment E on EventConnection { edges { node { index } } }`;
    expect(validate(schema, parse(costly), limitRules({ maxDepth: 12, maxAliases: 30, maxCost: 900 })).map((e) => e.extensions.code)).toEqual(['COST_LIMIT']);
    expect(validate(schema, parse(costly), limitRules({ maxDepth: 12, maxAliases: 30, maxCost: 901 }))).toEqual([]);
    const aliased = `{ ...A ...A } fragment A on Query { x: ledger y: ledger }`;
    expect(validate(schema, parse(aliased), limitRules({ maxDepth: 12, maxAliases: 3, maxCost: 50_000 })).map((e) => e.extensions.code)).toEqual(['ALIAS_LIMIT']);
  });

  it('count a connection without first as its default page, as if first named it', async () => {
    const chainproof = await buildChainproofSchema({ publicReads: true });
    // The README's defaults: depth 12, 30 aliases, cost 50,000.
    const cost = (query: string) => {
      const errors = validate(chainproof, parse(query), [...specifiedRules, ...rules]);
      expect(errors.filter((e) => e.extensions.code !== 'COST_LIMIT')).toEqual([]);
      return errors.length > 0 ? 'COST_LIMIT' : 'ok';
    };
    // 30 × 50 proposals × 100 votes each: refused when first says so, and when it is left to the defaults.
    const votes = (first: (n: number) => string) =>
      `{ ${Array.from({ length: 30 }, (_, i) => `p${i}: proposals${first(50)} { edges { node { id votes${first(100)} { edges { node { voter } } } } } }`).join(' ')} }`;
    expect(cost(votes((n) => `(first: ${n})`))).toBe('COST_LIMIT');
    expect(cost(votes(() => ''))).toBe('COST_LIMIT');
    const executions = (first: (n: number) => string) =>
      `{ ${Array.from({ length: 30 }, (_, i) => `c${i}: contracts${first(50)} { edges { node { id executions${first(50)} { edges { node { index ok } } } } } }`).join(' ')} }`;
    expect(cost(executions((n) => `(first: ${n})`))).toBe('COST_LIMIT');
    expect(cost(executions(() => ''))).toBe('COST_LIMIT');
    expect(cost(`{ proposals { edges { node { id votes { edges { node { voter } } } } } } }`)).toBe('ok');
  });

  it('count a leaf range as the leaves it returns (30 of them were 60,000 leaves at a cost of 30 each)', async () => {
    const chainproof = await buildChainproofSchema({ publicReads: true });
    const cost = (query: string) => validate(chainproof, parse(query), [...specifiedRules, ...rules]).map((e) => e.extensions.code);
    const ranges = (args: string) =>
      `query${args.includes('$') ? '($s: SafeInt!, $e: SafeInt!)' : ''} { ${Array.from({ length: 30 }, (_, i) => `r${i}: leafRange(${args}) { leaves { canonical signature } proof }`).join(' ')} }`;
    expect(cost(ranges('start: 0, end: 1700, treeSize: 1705'))).toContain('COST_LIMIT');
    expect(cost(ranges('start: $s, end: $e, treeSize: 1705'))).toContain('COST_LIMIT');
    // A peer's page, as sync asks for it: one range of the largest size, sizes in variables.
    expect(cost(`query($s: SafeInt!, $e: SafeInt!, $t: SafeInt!) { leafRange(start: $s, end: $e, treeSize: $t) { start treeSize leaves { canonical signature } proof } }`)).toEqual([]);
    expect(cost(ranges('start: 0, end: 10, treeSize: 1705'))).toEqual([]);
  });

  it('let one full verification into an operation, not thirty (each streams the ledger on a connection)', async () => {
    const chainproof = await buildChainproofSchema({ publicReads: true });
    const cost = (query: string) => validate(chainproof, parse(query), [...specifiedRules, ...rules]).map((e) => e.extensions.code);
    expect(cost(`{ verify(full: true) { status eventsVerified } }`)).toEqual([]);
    expect(cost(`{ a: verify(full: true) { status } b: verify(full: true) { status } }`)).toContain('COST_LIMIT');
    expect(cost(`query($f: Boolean!) { a: verify(full: $f) { status } b: verify(full: $f) { status } }`)).toContain('COST_LIMIT');
    // Quick verifications read the head: thirty of them fit.
    expect(cost(`{ ${Array.from({ length: 30 }, (_, i) => `v${i}: verify(full: false) { status }`).join(' ')} }`)).toEqual([]);
  });
});

describe('limit rules at their edges', () => {
  const edge = buildSchema(`
    type Event { index: Int! id: String! }
    type EventEdge { node: Event! }
    type EventConnection { edges: [EventEdge!]! }
    type Report { status: String! }
    type Range { leaves: [String!]! }
    type Query {
      events(first: Int, last: Int): EventConnection!
      verify(full: Boolean): Report!
      leafRange(start: Int!, end: Int!): Range!
      ledger: String
    }
    type Mutation { appendEvents(inputs: [String!]!): [Event!]! }
  `);
  const check = (query: string, maxCost: number, maxDepth = 12) =>
    validate(edge, parse(query), [...specifiedRules, ...limitRules({ maxDepth, maxAliases: 30, maxCost })]).map((e) => e.extensions.code ?? e.message);

  it('leave introspection out of depth and cost', () => {
    const introspection = `{ __schema { types { fields { type { name } } } } }`;
    expect(check(introspection, 1, 2)).toEqual([]);
  });

  it('count a fragment cycle as nothing rather than recursing until the stack runs out', () => {
    const cyclic = `{ ...A } fragment A on Query { ledger ...B } fragment B on Query { ...A }`;
    expect(() => check(cyclic, 50_000)).not.toThrow();
    expect(check(cyclic, 50_000)).not.toContain('COST_LIMIT');
  });

  it('cost a size given by a variable as the largest page or batch it could be', () => {
    // events + 1,000 × (edges + node + index)
    const page = `query($n: Int) { events(first: $n) { edges { node { index } } } }`;
    expect(check(page, 3001)).toEqual([]);
    expect(check(page, 3000)).toEqual(['COST_LIMIT']);
    const last = `query($n: Int) { events(last: $n) { edges { node { index } } } }`;
    expect(check(last, 3000)).toEqual(['COST_LIMIT']);
    // appendEvents (10) + 1,000 assumed inputs × index
    const batch = `mutation($i: [String!]!) { appendEvents(inputs: $i) { index } }`;
    expect(check(batch, 1010)).toEqual([]);
    expect(check(batch, 1009)).toEqual(['COST_LIMIT']);
    const literal = `mutation { appendEvents(inputs: ["a", "b", "c"]) { index } }`;
    expect(check(literal, 13)).toEqual([]);
    expect(check(literal, 12)).toEqual(['COST_LIMIT']);
  });

  it('let no page size, zero or negative, count for less than one item', () => {
    const zero = `{ events(first: 0) { edges { node { index } } } }`;
    expect(check(zero, 4)).toEqual([]);
    expect(check(zero, 3)).toEqual(['COST_LIMIT']);
    // A negative size cannot buy budget for the rest of the operation.
    const offset = `{ a: events(first: -1000) { edges { node { index } } } b: events(first: 1000) { edges { node { index } } } }`;
    expect(check(offset, 3000)).toEqual(['COST_LIMIT']);
  });

  it('count a leaf range as at most the largest range served', () => {
    const huge = `{ leafRange(start: 0, end: 1000000) { leaves } }`;
    // leafRange + 2,000 × leaves
    expect(check(huge, 2001)).toEqual([]);
    expect(check(huge, 2000)).toEqual(['COST_LIMIT']);
  });

  it('cost a quick verification 1,000 and a full one half the budget, rounded up', () => {
    expect(check(`{ verify(full: false) { __typename } }`, 1000)).toEqual([]);
    expect(check(`{ verify(full: false) { __typename } }`, 999)).toEqual(['COST_LIMIT']);
    // An odd budget: two full verifications are still one unit over it.
    const two = `{ a: verify(full: true) { __typename } b: verify(full: true) { __typename } }`;
    expect(check(two, 50_001)).toEqual(['COST_LIMIT']);
    expect(check(`{ verify(full: true) { __typename } }`, 50_001)).toEqual([]);
  });
});
