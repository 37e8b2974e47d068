import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { GOVERNANCE_PAGES } from '../governance/governance-service.js';
import { MAX_LEAF_RANGE } from '../ledger/ledger-service.js';
import { DEFAULT_PAGE, MAX_PAGE } from '../ledger/pagination.js';
import { RULES_PAGES } from '../rules/rules-service.js';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

const limitError = (code: string, message: string) => new GraphQLError(message, { extensions: { code } });

/** Fields whose work is far above a plain read. */
const FIELD_COST: Record<string, number> = {
  verify: 1000,
  createCheckpoint: 100,
  appendEvents: 10,
  inclusionProof: 5,
  consistencyProof: 5,
  stats: 50,
  // A trace line's `proof` is an inclusion proof.
  proof: 5,
};
/**
 * What a connection returns when `first`/`last` is left out: its service's default page. Counted
 * as less, a query could leave `first` out to pass the cost limit for the very page it would be
 * refused if it asked for by name (proposals × votes: 50 × 100 rows and 50 reads, costed 1).
 */
const DEFAULT_PAGE_SIZE: Record<string, number> = {
  ...Object.fromEntries(['events', 'replay', 'blocks', 'checkpoints', 'queryAudits', 'trace', 'exportProvenance'].map((f) => [f, DEFAULT_PAGE])),
  ...GOVERNANCE_PAGES,
  ...RULES_PAGES,
};
const MAX_BATCH_ASSUMED = 1000;

/** What a selection set adds up to: cost at a multiplier of 1, nesting depth (itself 1), aliases. */
interface Measure {
  cost: number;
  depth: number;
  aliases: number;
}

const NOTHING: Measure = { cost: 0, depth: 0, aliases: 0 };

/**
 * Depth, alias and cost limits as validation rules, so an expensive document is refused
 * before anything runs. Cost: each field costs 1 (or its FIELD_COST), times the size of every
 * list it sits in — `first`/`last` arguments, or the length of `inputs`, else a connection's
 * default page. Fragments are expanded: a spread counts as its fragment's fields written in its
 * place, each fragment measured once (a fragment spreading another twice, twenty deep, would
 * otherwise be walked a million times), and a cycle (refused by graphql-js anyway) counts nothing.
 * Introspection is bounded by graphql-js's own depth rule and left out of depth and cost, but
 * its aliases count: each one repeats a walk of the whole schema.
 */
export function limitRules(limits: QueryLimits) {
  return [
    (context: ValidationContext): ASTVisitor => ({
      OperationDefinition(node) {
        const fragments = new Map<string, FragmentDefinitionNode>();
        for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
        const measured = new Map<string, Measure>();
        const measuring = new Set<string>();
        const fragment = (name: string): Measure => {
          const known = measured.get(name);
          if (known) return known;
          if (measuring.has(name)) return NOTHING;
          measuring.add(name);
          const m = measure(fragments.get(name)?.selectionSet);
          measuring.delete(name);
          measured.set(name, m);
          return m;
        };
        const measure = (set: SelectionSetNode | undefined): Measure => {
          if (!set) return NOTHING;
          let cost = 0;
          let depth = 1;
          let aliases = 0;
          for (const sel of set.selections) {
            if (sel.kind === Kind.FIELD) {
              if (sel.alias) aliases++;
              const inner = measure(sel.selectionSet);
              aliases += inner.aliases;
              if (sel.name.value.startsWith('__')) continue;
              cost += fieldCost(sel, limits) + listSize(sel) * inner.cost;
              if (inner.depth > 0) depth = Math.max(depth, 1 + inner.depth);
            } else {
              const inner = sel.kind === Kind.INLINE_FRAGMENT ? measure(sel.selectionSet) : fragment(sel.name.value);
              cost += inner.cost;
              aliases += inner.aliases;
              depth = Math.max(depth, inner.depth);
            }
          }
          return { cost, depth, aliases };
        };
        const { cost, depth, aliases } = measure(node.selectionSet);
        if (depth > limits.maxDepth) {
          context.reportError(limitError('DEPTH_LIMIT', `query depth ${depth} exceeds the limit of ${limits.maxDepth}`));
        }
        if (aliases > limits.maxAliases) {
          context.reportError(limitError('ALIAS_LIMIT', `${aliases} aliases exceed the limit of ${limits.maxAliases}`));
        }
        if (cost > limits.maxCost) {
          context.reportError(limitError('COST_LIMIT', `query cost ${cost} exceeds the limit of ${limits.maxCost}`));
        }
      },
    }),
  ];
}

/**
 * A full verification streams the whole ledger on one database connection: it takes half of
 * an operation's budget, so one operation holds at most one (two aliases of it cannot pass).
 * Its `full` given by a variable counts as true.
 */
function fieldCost(field: FieldNode, limits: QueryLimits): number {
  if (field.name.value === 'verify') {
    const full = field.arguments?.find((a) => a.name.value === 'full')?.value;
    if (full && !(full.kind === Kind.BOOLEAN && !full.value)) return Math.ceil(limits.maxCost / 2);
  }
  return FIELD_COST[field.name.value] ?? 1;
}

/**
 * Validation runs once per document, before variables are known (and its result is cached),
 * so a size given by a variable counts as the largest page or batch it could be. A leaf range
 * counts as the leaves it returns, `end − start`.
 */
function listSize(field: FieldNode): number {
  const arg = (name: string) => field.arguments?.find((a) => a.name.value === name)?.value;
  for (const name of ['first', 'last']) {
    const v = arg(name);
    if (v?.kind === Kind.INT) return Math.max(1, Number(v.value));
    if (v?.kind === Kind.VARIABLE) return MAX_PAGE;
  }
  if (field.name.value === 'leafRange') {
    const [start, end] = [arg('start'), arg('end')];
    if (start?.kind !== Kind.INT || end?.kind !== Kind.INT) return MAX_LEAF_RANGE;
    return Math.min(MAX_LEAF_RANGE, Math.max(1, Number(end.value) - Number(start.value)));
  }
  const inputs = arg('inputs');
  if (inputs?.kind === Kind.LIST) return Math.max(1, inputs.values.length);
  if (inputs?.kind === Kind.VARIABLE) return MAX_BATCH_ASSUMED;
  if (field.name.value === 'edges') return 1; // the connection field above already counted its size
  return DEFAULT_PAGE_SIZE[field.name.value] ?? 1;
}

