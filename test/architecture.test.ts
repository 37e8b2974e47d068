import madge from 'madge';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// The design card's layering, checked on the import graph (type-only imports included):
// resolver → service → ledger → projections, and the ledger knows nothing of what is built on it.

const root = fileURLToPath(new URL('..', import.meta.url));

/** Top-level folder (or file, without `.ts`) of a path relative to src/. */
const area = (file: string) => (file.includes('/') ? file.split('/')[0]! : file.replace(/\.ts$/, ''));

/** The API and process layers: nothing beneath them may reach up into them. */
const ON_TOP = ['resolvers', 'schema', 'server', 'cli', 'mcp'];
/** Domains and services built on the ledger. */
const DOMAINS = ['governance', 'provenance', 'rules', 'witness', 'sync'];

let graph: Record<string, string[]>;
let circular: string[][];

beforeAll(async () => {
  const result = await madge(`${root}src`, { fileExtensions: ['ts'], tsConfig: `${root}tsconfig.json` });
  graph = result.obj();
  circular = result.circular();
});

/** Imports from a file in one of `from` to a file in one of `to`, as "a.ts -> b.ts". */
function importsAcross(from: string[], to: string[]): string[] {
  return Object.entries(graph).flatMap(([file, deps]) =>
    from.includes(area(file)) ? deps.filter((d) => to.includes(area(d))).map((d) => `${file} -> ${d}`) : [],
  );
}

describe('import graph of src/', () => {
  it('has every module in it', () => {
    expect(Object.keys(graph)).toContain('ledger/ledger-service.ts');
    expect(graph['resolvers/provenance.resolver.ts']).toContain('provenance/service.ts');
  });

  it('has no import cycles', () => {
    expect(circular).toEqual([]);
  });

  it('keeps the ledger ignorant of the domains, auth and the API built on it', () => {
    expect(importsAcross(['ledger'], [...DOMAINS, 'auth', ...ON_TOP])).toEqual([]);
  });

  it('keeps domains and auth beneath resolvers, schema, server, CLI and MCP', () => {
    expect(importsAcross([...DOMAINS, 'auth', 'ledger', 'db'], ON_TOP)).toEqual([]);
  });

  it('lets governance know nothing of the domains that plug actions into it', () => {
    expect(importsAcross(['governance'], ['provenance', 'rules', 'witness', 'sync'])).toEqual([]);
  });
});
