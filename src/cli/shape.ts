/**
 * What a field of a server's answer must look like before the CLI reads it: a JSON type, `any`
 * (JSON the CLI only passes on), a list of one shape (`[s]`), an object of field shapes, or
 * `orNull(s)`. A server named by `--url` is not trusted to answer as the schema says.
 */
export type Shape = 'string' | 'number' | 'boolean' | 'any' | readonly [Shape] | Nullable | { readonly [field: string]: Shape };

class Nullable {
  constructor(readonly shape: Shape) {}
}

export const orNull = (shape: Shape): Shape => new Nullable(shape);

/**
 * Where `value` departs from `shape` (a path like `events.edges[3].node.hlc`), or undefined
 * when it conforms.
 *
 * @example mismatch({ stats: null }, { stats: { treeSize: 'number' } }, 'data') // 'data.stats is not an object'
 */
export function mismatch(value: unknown, shape: Shape, path: string): string | undefined {
  if (shape instanceof Nullable) return value === null ? undefined : mismatch(value, shape.shape, path);
  if (shape === 'any') return undefined;
  if (typeof shape === 'string') return typeof value === shape ? undefined : `${path} is not a ${shape}`;
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return `${path} is not a list`;
    for (let i = 0; i < value.length; i++) {
      const at = mismatch(value[i], shape[0], `${path}[${i}]`);
      if (at) return at;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path} is not an object`;
  for (const [field, s] of Object.entries(shape)) {
    const at = mismatch((value as Record<string, unknown>)[field], s, `${path}.${field}`);
    if (at) return at;
  }
  return undefined;
}
