import { BREAK, GraphQLError, Kind, visit, type DocumentNode } from 'graphql';

/**
 * Deepest nesting of objects and lists a request may carry, in its variables or its literals.
 * Above the ledger's own payload limit (MAX_PAYLOAD_DEPTH) plus the input objects around a payload.
 */
export const MAX_INPUT_DEPTH = 100;

const refuse = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

/** Why a string cannot be taken, or undefined. PostgreSQL's text and jsonb refuse NUL; RFC 8785 refuses lone surrogates. */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'text must not contain U+0000 (NUL)';
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return 'text must be well-formed Unicode (no lone surrogates)';
  return undefined;
}

/**
 * Every string a request carries (variables, JSON payloads in them included, and the document's
 * literals) must be well-formed Unicode without NUL, and nothing may nest deeper than
 * MAX_INPUT_DEPTH. Checked once, iteratively, before anything runs: otherwise a NUL reaches
 * PostgreSQL as an internal error, and a deep structure exhausts the stack of the recursive code
 * downstream (coercion, canonicalisation). All of it is attacker-controlled.
 *
 * @example inputProblem(parse('{ ledger(name: "x") { name } }'), { a: 'b\u0000' })?.message // 'variables: text must not contain U+0000 (NUL)'
 */
export function inputProblem(document: DocumentNode, variables: unknown): GraphQLError | undefined {
  return variablesProblem(variables) ?? literalsProblem(document);
}

/** inputProblem's check of the variables, which change from request to request. */
export function variablesProblem(variables: unknown): GraphQLError | undefined {
  // Two parallel stacks rather than a tuple per value: a 1,000-audit recordQueries carries ~30,000.
  const values: unknown[] = [variables];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (typeof value === 'string') {
      const why = textProblem(value);
      if (why) return refuse(`variables: ${why}`);
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= MAX_INPUT_DEPTH) return refuse(`variables nest deeper than ${MAX_INPUT_DEPTH} levels`);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          values.push(value[i]);
          depths.push(depth + 1);
        }
      } else {
        for (const k in value) {
          const why = textProblem(k);
          if (why) return refuse(`variables: ${why}`);
          values.push((value as Record<string, unknown>)[k]);
          depths.push(depth + 1);
        }
      }
    }
  }
  return undefined;
}

/** inputProblem's check of the document's literals, which depends on its text alone. */
export function literalsProblem(document: DocumentNode): GraphQLError | undefined {
  let problem: GraphQLError | undefined;
  let depth = 0;
  // graphql-js's visit keeps its own stack: a deep literal does not recurse here.
  const nested = {
    enter() {
      if (++depth <= MAX_INPUT_DEPTH) return undefined;
      problem = refuse(`literals nest deeper than ${MAX_INPUT_DEPTH} levels`);
      return BREAK;
    },
    leave() {
      depth--;
    },
  };
  visit(document, {
    [Kind.STRING]: (node) => {
      const why = textProblem(node.value);
      if (!why) return undefined;
      problem = refuse(`a literal: ${why}`);
      return BREAK;
    },
    [Kind.OBJECT]: nested,
    [Kind.LIST]: nested,
  });
  return problem;
}
