import { describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { inputProblem, literalsProblem, MAX_INPUT_DEPTH, variablesProblem } from '../../src/server/input-text.js';

const plain = parse('{ ledger(name: "x") { name } }');
/** Lists nested `levels` deep around `inner`. */
const nestedValue = (levels: number, inner: unknown = 1): unknown => {
  let v = inner;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};
const nestedLiteral = (levels: number) => parse(`{ f(a: ${'['.repeat(levels)}1${']'.repeat(levels)}) }`);

describe('request input text and nesting', () => {
  it('takes variables nested exactly to the limit and refuses one level more', () => {
    expect(variablesProblem(nestedValue(MAX_INPUT_DEPTH))).toBeUndefined();
    const refused = variablesProblem(nestedValue(MAX_INPUT_DEPTH + 1));
    expect(refused?.extensions.code).toBe('BAD_USER_INPUT');
    expect(refused?.message).toContain('nest deeper');
  });

  it('counts the depth of literals by nesting, not by how many sit side by side', () => {
    // Each object is two levels deep; there are more of them than the limit allows levels.
    expect(literalsProblem(parse(`{ f(a: [${'{ b: 1 }, '.repeat(MAX_INPUT_DEPTH + 1)}]) }`))).toBeUndefined();
  });

  it('takes literals nested exactly to the limit and refuses one level more', () => {
    expect(literalsProblem(nestedLiteral(MAX_INPUT_DEPTH))).toBeUndefined();
    const refused = literalsProblem(nestedLiteral(MAX_INPUT_DEPTH + 1));
    expect(refused?.extensions.code).toBe('BAD_USER_INPUT');
    expect(refused?.message).toContain('literals nest deeper');
  });

  it('refuses NUL and lone surrogates in variable values, in object keys and in literals', () => {
    expect(variablesProblem({ a: 'fine', b: ['é', { c: '😀' }] })).toBeUndefined();
    expect(variablesProblem({ a: ['x', 'b\u0000'] })?.message).toBe('variables: text must not contain U+0000 (NUL)');
    expect(variablesProblem({ a: '\ud800' })?.message).toContain('well-formed');
    expect(variablesProblem({ a: { 'k\u0000': 1 } })?.message).toBe('variables: text must not contain U+0000 (NUL)');
    expect(literalsProblem(parse('{ f(a: "ok") }'))).toBeUndefined();
    expect(literalsProblem(parse('{ f(a: "b\\u0000") }'))?.message).toBe('a literal: text must not contain U+0000 (NUL)');
  });

  it('checks both the variables and the document', () => {
    expect(inputProblem(plain, { a: 'b' })).toBeUndefined();
    expect(inputProblem(plain, { a: 'b\u0000' })?.message).toBe('variables: text must not contain U+0000 (NUL)');
    expect(inputProblem(parse('{ f(a: "b\\u0000") }'), {})?.message).toBe('a literal: text must not contain U+0000 (NUL)');
  });
});
