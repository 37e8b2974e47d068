import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Whether the client's selection under the field being resolved reaches `path` (field names,
 * not aliases), through inline fragments and named ones. Directives are not evaluated: a field
 * under `@skip` or `@include` counts as selected, so the answer errs towards doing the work.
 *
 * @example
 *   // mutation { recordQueries(inputs: …) { eventIndex contributingAssertions { source { locator } } } }
 *   selects(info, ['contributingAssertions', 'source']) // true
 *   selects(info, ['contributingAssertions', 'assertion']) // false
 */
export function selects(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, path: readonly string[]): boolean {
  const reaches = (set: SelectionSetNode | undefined, depth: number, spread: ReadonlySet<string>): boolean =>
    set?.selections.some((s) => {
      switch (s.kind) {
        case Kind.FIELD:
          return s.name.value === path[depth] && (depth === path.length - 1 || reaches(s.selectionSet, depth + 1, spread));
        case Kind.INLINE_FRAGMENT:
          return reaches(s.selectionSet, depth, spread);
        default: {
          // A fragment cycle is a validation error; the guard keeps a document that skipped validation finite.
          const name = s.name.value;
          return !spread.has(name) && reaches(info.fragments[name]?.selectionSet, depth, new Set([...spread, name]));
        }
      }
    }) ?? false;
  return path.length > 0 && info.fieldNodes.some((f) => reaches(f.selectionSet, 0, new Set()));
}
