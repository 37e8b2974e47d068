import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** Linux /proc sampling: CPU time of the server's threads, PostgreSQL's processes, this process and the machine. */

export let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep 100 */
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime + stime in clock ticks from a /proc stat line (comm may contain spaces and parentheses). */
function statTicks(stat: string | undefined): number | undefined {
  if (!stat) return undefined;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

export function processTicks(pid: number): number | undefined {
  return statTicks(read(`/proc/${pid}/stat`));
}

export function threadTicks(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    const ticks = statTicks(read(`/proc/${pid}/task/${t}/stat`));
    if (ticks !== undefined) out.set(Number(t), ticks);
  }
  return out;
}

/** Every PostgreSQL process on the machine with its command line ("postgres: walwriter", "postgres: user db host ..."). */
export function postgresProcesses(): Map<number, { cmd: string; ticks: number }> {
  const out = new Map<number, { cmd: string; ticks: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (read(`/proc/${d}/comm`)?.trim() !== 'postgres') continue;
    const ticks = processTicks(Number(d));
    if (ticks === undefined) continue;
    out.set(Number(d), { cmd: (read(`/proc/${d}/cmdline`) ?? '').replace(/\0/g, ' ').trim(), ticks });
  }
  return out;
}

export interface MachineTicks {
  user: number;
  system: number;
  iowait: number;
  idle: number;
  other: number;
}

export function machineTicks(): MachineTicks {
  const line = (read('/proc/stat') ?? '').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line;
  return { user: user + nice, system, iowait, idle, other: irq + softirq + steal };
}

export function memoryKb(pid: number): { vmHWM?: number; vmRSS?: number } {
  const s = read(`/proc/${pid}/status`) ?? '';
  const get = (k: string) => {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) : undefined;
  };
  return { vmHWM: get('VmHWM'), vmRSS: get('VmRSS') };
}

export interface CpuSnapshot {
  at: number;
  server: { pid: number; total: number; threads: Map<number, number> } | undefined;
  extra: { pid: number; total: number; threads: Map<number, number> } | undefined;
  postgres: Map<number, { cmd: string; ticks: number }>;
  bench: NodeJS.CpuUsage;
  machine: MachineTicks;
}

export function cpuSnapshot(serverPid: number | undefined, extraPid?: number): CpuSnapshot {
  const proc = (pid: number | undefined) =>
    pid === undefined ? undefined : { pid, total: processTicks(pid) ?? 0, threads: threadTicks(pid) };
  return {
    at: performance.now(),
    server: proc(serverPid),
    extra: proc(extraPid),
    postgres: postgresProcesses(),
    bench: process.cpuUsage(),
    machine: machineTicks(),
  };
}

/** CPU use between two snapshots, in cores (CPU-seconds per wall-second); the machine has `cores` of them. */
export interface CpuReport {
  wallS: number;
  cores: number;
  server?: ThreadReport;
  extra?: ThreadReport;
  postgres: { benchDb: number; auxiliary: number; otherDbs: number; total: number; busiestBackend: number };
  benchClient: number;
  /** Busy CPU on the machine not accounted for by the above: other people's processes. */
  foreign: number;
  machine: { busyPct: number; userPct: number; systemPct: number; iowaitPct: number; idlePct: number };
}

export interface ThreadReport {
  total: number;
  /** The event-loop thread (tid = pid): GraphQL, resolvers, canonicalisation, hashing, pg protocol. */
  mainThread: number;
  /** The busiest other thread: the proof-of-work worker whenever a block is being mined. */
  busiestOtherThread: number;
  /** Everything else: V8 GC/compiler helpers, libuv pool, other workers. */
  otherThreads: number;
}

function threadReport(a: CpuSnapshot['server'], b: CpuSnapshot['server'], wallS: number): ThreadReport | undefined {
  if (!a || !b) return undefined;
  const per = (t: number) => t / clkTck / wallS;
  let main = 0;
  let busiest = 0;
  let rest = 0;
  for (const [tid, ticks] of b.threads) {
    const d = ticks - (a.threads.get(tid) ?? 0);
    if (tid === b.pid) main = d;
    else if (d > busiest) {
      rest += busiest;
      busiest = d;
    } else rest += d;
  }
  return { total: r2(per(b.total - a.total)), mainThread: r2(per(main)), busiestOtherThread: r2(per(busiest)), otherThreads: r2(per(rest)) };
}

export function cpuReport(a: CpuSnapshot, b: CpuSnapshot, benchDbName: string): CpuReport {
  const wallS = (b.at - a.at) / 1000;
  const pg = { benchDb: 0, auxiliary: 0, otherDbs: 0, total: 0, busiestBackend: 0 };
  for (const [pid, p] of b.postgres) {
    const d = (p.ticks - (a.postgres.get(pid)?.ticks ?? 0)) / clkTck / wallS;
    pg.total += d;
    if (p.cmd.includes(` ${benchDbName} `)) {
      pg.benchDb += d;
      pg.busiestBackend = Math.max(pg.busiestBackend, d);
    } else if (/postgres: (\S+: )?(checkpointer|background writer|walwriter|autovacuum|logical replication|stats|archiver)/.test(p.cmd) || /bin\/postgres/.test(p.cmd)) {
      pg.auxiliary += d;
    } else pg.otherDbs += d;
  }
  for (const k of Object.keys(pg) as Array<keyof typeof pg>) pg[k] = r2(pg[k]);
  const m = (k: keyof MachineTicks) => b.machine[k] - a.machine[k];
  const all = m('user') + m('system') + m('iowait') + m('idle') + m('other') || 1;
  const pct = (x: number) => r2((100 * x) / all);
  const server = threadReport(a.server, b.server, wallS);
  const extra = threadReport(a.extra, b.extra, wallS);
  const benchClient = r2((b.bench.user + b.bench.system - a.bench.user - a.bench.system) / 1e6 / wallS);
  const busyCores = ((m('user') + m('system') + m('other')) / all) * cpus().length;
  const ours = (server?.total ?? 0) + (extra?.total ?? 0) + benchClient + pg.benchDb + pg.auxiliary;
  return {
    wallS: r2(wallS),
    cores: cpus().length,
    server,
    extra,
    postgres: pg,
    benchClient,
    foreign: r2(Math.max(0, busyCores - ours)),
    machine: {
      busyPct: pct(m('user') + m('system') + m('other')),
      userPct: pct(m('user')),
      systemPct: pct(m('system')),
      iowaitPct: pct(m('iowait')),
      idlePct: pct(m('idle')),
    },
  };
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export function machineInfo() {
  const cpuinfo = read('/proc/cpuinfo') ?? '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1];
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    /* os.cpus() */
  }
  return {
    nproc,
    cpuModel: model,
    cpuMHz: mhz ? Number(mhz) : undefined,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: (read('/proc/sys/kernel/osrelease') ?? '').trim(),
    node: process.version,
  };
}
