import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode, type FieldNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { selects } from '../../src/resolvers/selection.js';

/** The info a resolver of the document's first root field gets, as far as `selects` reads it. */
function infoOf(document: string) {
  const doc = parse(document);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  return { fieldNodes: [op.selectionSet.selections[0] as FieldNode], fragments };
}

const CITED = ['contributingAssertions', 'assertion'];

describe('selects', () => {
  it('finds a path of fields and ignores one that stops short or goes elsewhere', () => {
    expect(selects(infoOf(`{ r { eventIndex contributingAssertions { assertion { subject } } } }`), CITED)).toBe(true);
    expect(selects(infoOf(`{ r { eventIndex contributingAssertions { assertionHash weight } } }`), CITED)).toBe(false);
    expect(selects(infoOf(`{ r { eventIndex assertion { subject } } }`), CITED)).toBe(false);
    expect(selects(infoOf(`{ r { eventIndex } }`), CITED)).toBe(false);
    expect(selects(infoOf(`{ r { eventIndex } }`), [])).toBe(false);
  });

  it('reads field names, not aliases', () => {
    expect(selects(infoOf(`{ r { c: contributingAssertions { a: assertion { subject } } } }`), CITED)).toBe(true);
    expect(selects(infoOf(`{ r { contributingAssertions: eventIndex assertion: queryId } }`), CITED)).toBe(false);
  });

  it('follows inline and named fragments, at any depth, and stops at a fragment cycle', () => {
    expect(selects(infoOf(`{ r { ... on QueryAudit { contributingAssertions { ... on Contribution { assertion { hash } } } } } }`), CITED)).toBe(true);
    expect(selects(infoOf(`{ r { ...A } } fragment A on QueryAudit { contributingAssertions { ...B } } fragment B on Contribution { assertion { hash } }`), CITED)).toBe(true);
    expect(selects(infoOf(`{ r { ...A } } fragment A on QueryAudit { contributingAssertions { weight } }`), CITED)).toBe(false);
    expect(selects(infoOf(`{ r { ...A } } fragment A on QueryAudit { ...B } fragment B on QueryAudit { ...A }`), CITED)).toBe(false);
    expect(selects(infoOf(`{ r { ...Missing } }`), CITED)).toBe(false);
  });

  it('counts a field under @skip or @include as selected', () => {
    expect(selects(infoOf(`{ r { contributingAssertions { assertion @skip(if: true) { hash } } } }`), CITED)).toBe(true);
  });
});
