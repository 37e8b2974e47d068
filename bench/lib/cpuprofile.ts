import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Summaries of V8 .cpuprofile files (`node --cpu-prof`): self time by library/area and by function. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const AREAS: Array<[RegExp, string]> = [
  [/node_modules\/graphql\//, 'graphql-js (parse/validate/execute/coerce)'],
  [/node_modules\/type-graphql\//, 'type-graphql (arg/input conversion, resolver glue)'],
  [/node_modules\/graphql-scalars\//, 'graphql-scalars (JSON/SafeInt)'],
  [/node_modules\/@apollo\//, 'Apollo Server'],
  [/node_modules\/(express|body-parser|raw-body|router|iconv-lite|type-is|content-type|on-finished|finalhandler|send|qs)\//, 'Express + body parsing'],
  [/node_modules\/canonicalize\//, 'canonicalize (RFC 8785)'],
  [/node_modules\/(pg|pg-protocol|pg-types|pg-pool|postgres-array|postgres-bytea|pgpass)\//, 'node-postgres driver'],
  [/node_modules\/typeorm\//, 'TypeORM'],
  [/node_modules\/pino/, 'pino'],
  [/node_modules\/@noble\//, '@noble (JS crypto)'],
  [/dist\/src\/ledger\/verify\//, 'chainproof verify/*'],
  [/dist\/src\/ledger\/merkle\//, 'chainproof merkle/*'],
  [/dist\/src\/ledger\/events\//, 'chainproof events/* (checks, envelope)'],
  [/dist\/src\/ledger\/sequencer/, 'chainproof sequencer'],
  [/dist\/src\/ledger\/note\//, 'chainproof note/*'],
  [/dist\/src\/(resolvers|schema)\//, 'chainproof resolvers/schema'],
  [/dist\/src\//, 'chainproof (other)'],
  [/^node:(_http|http|net|stream|internal\/streams|internal\/http|_stream)/, 'Node http/net/streams'],
  [/^node:(crypto|internal\/crypto)/, 'Node crypto'],
  [/^node:(buffer|internal\/buffer)/, 'Node buffer'],
  [/^node:/, 'Node internals (other)'],
  [/node_modules\//, 'other node_modules'],
];

function areaOf(url: string): string | undefined {
  if (!url) return undefined;
  for (const [re, name] of AREAS) if (re.test(url)) return name;
  return 'other';
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  byArea: Array<{ area: string; ms: number; pct: number }>;
  topFunctions: Array<{ fn: string; where: string; area: string; selfMs: number; pct: number }>;
  byFile: Array<{ file: string; ms: number; pct: number }>;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from the sample stream.
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  // A native frame (no URL: JSON.parse, Buffer ops, ...) counts towards its nearest JS caller's area.
  const areaCache = new Map<number, string>();
  const area = (id: number): string => {
    const cached = areaCache.get(id);
    if (cached) return cached;
    const n = byId.get(id)!;
    const name = n.callFrame.functionName;
    let a: string;
    if (name === '(garbage collector)') a = 'GC';
    else if (name === '(idle)') a = '(idle)';
    else if (name === '(program)') a = '(program: V8/native outside JS)';
    else if (name === '(root)') a = '(root)';
    else a = areaOf(n.callFrame.url) ?? (parent.has(id) ? area(parent.get(id)!) : 'native');
    areaCache.set(id, a);
    return a;
  };
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; area: string; selfMs: number }>();
  const files = new Map<string, number>();
  let busy = 0;
  for (const [id, ms] of self) {
    const a = area(id);
    if (a === '(idle)') continue;
    busy += ms;
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const n = byId.get(id)!;
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${n.callFrame.lineNumber + 1}` : '(native)';
    const key = `${n.callFrame.functionName}@${where}`;
    const file = where.replace(/:\d+$/, '');
    files.set(file, (files.get(file) ?? 0) + ms);
    const f = fns.get(key) ?? { fn: n.callFrame.functionName || '(anonymous)', where, area: a, selfMs: 0 };
    f.selfMs += ms;
    fns.set(key, f);
  }
  const pct = (ms: number) => Math.round((1000 * ms) / busy) / 10;
  return {
    file,
    wallMs: Math.round((p.endTime - p.startTime) / 1000),
    busyMs: Math.round(busy),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([a, ms]) => ({ area: a, ms: Math.round(ms), pct: pct(ms) })),
    topFunctions: [...fns.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, selfMs: Math.round(f.selfMs), pct: pct(f.selfMs) })),
    byFile: [...files.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([file, ms]) => ({ file, ms: Math.round(ms), pct: pct(ms) })),
  };
}

/** The main thread's profile among those `node --cpu-prof --cpu-prof-dir=dir` wrote. */
export function mainThreadProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  // CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile: thread 0 is the main thread.
  const main = files.find((f) => f.split('.')[4] === '0') ?? files.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0]!;
  return join(dir, main);
}

export function formatProfile(label: string, s: ProfileSummary, topN = 30): string {
  const lines = [`${label}: main thread busy ${s.busyMs} ms of ${s.wallMs} ms profiled`];
  for (const a of s.byArea) lines.push(`  ${String(a.pct).padStart(5)}%  ${String(a.ms).padStart(7)} ms  ${a.area}`);
  lines.push('top functions (self time):');
  for (const f of s.topFunctions.slice(0, topN)) lines.push(`  ${String(f.pct).padStart(5)}%  ${String(f.selfMs).padStart(7)} ms  ${f.fn}  ${f.where}`);
  return `${lines.join('\n')}\n`;
}
