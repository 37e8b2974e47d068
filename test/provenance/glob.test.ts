import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globToRegex } from '../../src/provenance/glob.js';
import { codeOf, openTestProvenance, type TestProvenance } from './support.js';

let t: TestProvenance;
const SUBJECTS = [
  'auth', 'auth/', 'auth/login', 'auth/login/mfa', 'authz/login', 'a.th/login', 'auth/lo_in', 'auth/lo%in',
  'x/auth/login', 'login', 'auth/(x)', 'auth/[ab]', 'auth/a\\b', 'auth/ünï', 'auth/$^+|{}',
];

beforeAll(async () => {
  t = await openTestProvenance();
  await t.prov.recordQueries('main', SUBJECTS.map((subject) => ({ agentId: 'glob', subject, predicate: 'p', result: subject, contributingAssertions: [] })), 'x');
});
afterAll(async () => t?.close());

/** Matches as PostgreSQL evaluates them, through the same query path the API uses. */
async function match(glob: string): Promise<string[]> {
  const page = await t.prov.queryAudits('main', { subject: glob }, { first: 100 });
  return page.items.map((i) => i.node.subject).sort();
}

describe('subject globs', () => {
  it('* stays within one segment, ** crosses segments, ? is one character', async () => {
    expect(await match('auth/*')).toEqual(['auth/', 'auth/$^+|{}', 'auth/(x)', 'auth/[ab]', 'auth/a\\b', 'auth/lo%in', 'auth/lo_in', 'auth/login', 'auth/ünï'].sort());
    expect(await match('auth/**')).toEqual(['auth/', 'auth/$^+|{}', 'auth/(x)', 'auth/[ab]', 'auth/a\\b', 'auth/lo%in', 'auth/lo_in', 'auth/login', 'auth/login/mfa', 'auth/ünï'].sort());
    expect(await match('auth/lo?in')).toEqual(['auth/lo%in', 'auth/lo_in', 'auth/login']);
    expect(await match('*/login')).toEqual(['a.th/login', 'auth/login', 'authz/login']);
    expect(await match('**/login')).toEqual(['a.th/login', 'auth/login', 'authz/login', 'login', 'x/auth/login']);
    expect(await match('x/**/login')).toEqual(['x/auth/login']);
    expect(await match('auth/**/login')).toEqual(['auth/login']);
    expect(await match('auth/**/mfa')).toEqual(['auth/login/mfa']);
    expect(await match('**/auth/login')).toEqual(['auth/login', 'x/auth/login']);
    // Not a whole segment: no empty match.
    expect(await match('a**/login')).toEqual(['a.th/login', 'auth/login', 'authz/login']);
    expect(await match('auth*')).toEqual(['auth']);
    expect(await match('auth*/*')).toEqual(['auth/', 'auth/$^+|{}', 'auth/(x)', 'auth/[ab]', 'auth/a\\b', 'auth/lo%in', 'auth/lo_in', 'auth/login', 'auth/ünï', 'authz/login'].sort());
    expect(await match('auth/???')).toEqual(['auth/(x)', 'auth/a\\b', 'auth/ünï']);
    expect(await match('auth/????')).toEqual(['auth/[ab]']);
  });

  it('treats every other character literally, in SQL LIKE and regex alike', async () => {
    expect(await match('a.th/*')).toEqual(['a.th/login']);
    expect(await match('auth/lo_in')).toEqual(['auth/lo_in']);
    expect(await match('auth/lo%*')).toEqual(['auth/lo%in']);
    expect(await match('auth/lo_*')).toEqual(['auth/lo_in']);
    expect(await match('auth/[ab]')).toEqual(['auth/[ab]']);
    expect(await match('auth/[ab]*')).toEqual(['auth/[ab]']);
    expect(await match('auth/(x)*')).toEqual(['auth/(x)']);
    expect(await match('auth/a\\b*')).toEqual(['auth/a\\b']);
    expect(await match('auth/$^+|{}*')).toEqual(['auth/$^+|{}']);
    expect(await match('auth/ünï*')).toEqual(['auth/ünï']);
    expect(await match('nothing/*')).toEqual([]);
  });

  it('reads a run of three or more stars as **', async () => {
    expect(await match('***/login')).toEqual(await match('**/login'));
    expect(await match('auth/***')).toEqual(await match('auth/**'));
  });

  it('treats | and { } literally where no literal prefix narrows the match', async () => {
    // With `|` unescaped the regex would be an alternation, and `^.*` alone matches everything.
    expect(await match('**|{}')).toEqual(['auth/$^+|{}']);
  });

  it('anchors the pattern at both ends', () => {
    expect(globToRegex('auth/*')).toBe('^auth\\/[^/]*$');
    expect(globToRegex('a?b**c')).toBe('^a[^/]b.*c$');
    expect(globToRegex('a/**/b')).toBe('^a\\/(?:.*/)?b$');
    // Not a whole segment: `a**/b` needs its slash.
    expect(globToRegex('a**/b')).toBe('^a.*\\/b$');
    // Repeated whole `**` segments are one group, and count as one wildcard.
    expect(globToRegex('**/**/**/b')).toBe('^(?:.*/)?b$');
    expect(globToRegex(`${'**/'.repeat(170)}b`)).toBe('^(?:.*/)?b$');
  });

  it('refuses more than 16 wildcards, which would cost PostgreSQL per row scanned', async () => {
    expect(await codeOf(match('*a'.repeat(17)))).toBe('BAD_USER_INPUT');
    expect(await codeOf(match('**/a/'.repeat(17)))).toBe('BAD_USER_INPUT');
    expect(await codeOf(match('?'.repeat(17)))).toBe('BAD_USER_INPUT');
    // `**` inside a segment is a group of its own: 16 of them and 16 whole segments make 32.
    expect(await codeOf(match(`${'a**/**/'.repeat(16)}z`))).toBe('BAD_USER_INPUT');
    expect(await match('*a'.repeat(16))).toEqual([]);
  });

  it('counts a ** within a segment as one wildcard, and a run of whole **/ segments anywhere as one', async () => {
    expect(await match('a**'.repeat(16))).toEqual([]);
    expect(await match(`x/${'**/'.repeat(20)}login`)).toEqual(['x/auth/login']);
  });

  it('refuses empty, oversized and NUL globs', async () => {
    for (const g of ['', 'x'.repeat(513), 'a\u0000*']) expect(await codeOf(match(g))).toBe('BAD_USER_INPUT');
    // The glob module refuses them itself, whatever path reaches it.
    for (const g of ['', 'x'.repeat(513), 'a\u0000*']) expect(() => globToRegex(g)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    // The longest taken.
    expect(await match(`auth/${'x'.repeat(506)}*`)).toEqual([]);
  });
});
