import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { ENV_DOCS, loadConfig, type Config } from '../config.js';
import { ChainproofError, isChainproofError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { EXIT, exitCodeFor } from './exit.js';
import { progressBar } from './progress.js';
import { remoteSource, type LedgerSource, type ProofBundle } from './source.js';
import { serverOf, serverOptions, type ServerOptions } from './server-options.js';
import { proofFault, verifyTlogProofFile } from './verify-proof.js';
import { parseCosignerKey, parseVerifierKey } from '../ledger/note/index.js';
import { parseTrustedKeys } from '../ledger/verify/checkpoint-check.js';
import type { ReplayReport } from '../governance/replay.js';
import type { RulesReplayReport } from '../rules/replay.js';
import type { ProvenanceReplayReport } from '../provenance/rebuild.js';
import { addGovCommands } from './gov.js';
import { repeatable } from './repeatable.js';
import { addSyncCommands, remoteSync } from './sync.js';
import type { SyncStatusView } from '../sync/sync-service.js';
import { writeFileSync } from 'node:fs';
import { openOutputFile, outputDir, readSmallFile, userPath } from './files.js';
import { formatTlogProof } from '../ledger/note/index.js';
import type { EventFilter } from '../ledger/ledger-service.js';
import { MAX_TRACE_LINES } from '../provenance/model.js';
import { QUERY_ID } from '../provenance/query-id.js';
import { formatTimeline, parseUntil, parseWhen, proofFileNames } from './trace.js';
import { shown, table } from './printable.js';
import { directTraceSource, remoteTraceSource, type TraceSource } from './trace-source.js';
import { join } from 'node:path';
import type { CliServices } from './local.js';

/** The CLI's database side, loaded on first use (see local.ts). */
const local = () => import('./local.js');

async function withLedger<T>(config: Config, fn: (services: CliServices) => Promise<T>, options?: { keyCheck?: boolean }): Promise<T> {
  return (await local()).withLedger(config, fn, options);
}

/** A tlog-proof is a checkpoint, some forty hashes at most and one event (payloads are 64 KB by default): a few KB, never a megabyte. */
const MAX_PROOF_BYTES = 1024 * 1024;

/**
 * The `--key` of verify-proof, checked before the proof is read: exit 1 says the proof does not
 * verify, so a key that is no verifier key at all must be told apart as bad usage.
 */
function verifierKey(key: string): string {
  try {
    parseVerifierKey(key);
  } catch (cause) {
    throw new ChainproofError('BAD_USER_INPUT', `--key: ${(cause as Error).message}`, { cause });
  }
  return key;
}

/**
 * `--witness` values, each checked to be a cosigner key before any work starts. A witness given
 * twice (the key hash is hex in either case) would have its one cosignature counted twice.
 */
function witnessKeys(keys: string[]): string[] {
  const seen = new Map<string, string>();
  for (const k of keys) {
    let key;
    try {
      key = parseCosignerKey(k);
    } catch (cause) {
      throw new ChainproofError('BAD_USER_INPUT', `--witness ${k}: ${(cause as Error).message}`, { cause });
    }
    const id = `${key.name}+${key.keyHash.toString('hex')}`;
    const first = seen.get(id);
    if (first !== undefined) throw new ChainproofError('BAD_USER_INPUT', `--witness ${k} names the same witness as ${first}`);
    seen.set(id, k);
  }
  return keys;
}

function rulesReplayLine(r: RulesReplayReport): string {
  const lines = [`${r.ok ? 'RULES REPLAY MATCHES' : 'RULES REPLAY DIFFERS'}: ${r.firings} firings re-run over ${r.eventsReplayed} events`];
  for (const m of r.mismatches.slice(0, 20)) lines.push(`  contract ${m.contractId} on event ${m.triggerIndex}: ${m.kind}`);
  return lines.join('\n');
}

function provenanceReplayLine(r: ProvenanceReplayReport): string {
  if (r.skipped) return `PROVENANCE REPLAY SKIPPED: ${r.skipped}`;
  const lines = [`${r.ok ? 'PROVENANCE REPLAY MATCHES' : 'PROVENANCE REPLAY DIFFERS'}: ${r.eventsReplayed} provenance records up to tree size ${r.treeSize}`];
  if (r.mismatchedTables.length) lines.push(`  projections that differ from the ledger: ${r.mismatchedTables.join(', ')}`);
  return lines.join('\n');
}

function replayLine(r: ReplayReport): string {
  const lines = [`${r.ok ? 'REPLAY MATCHES' : 'REPLAY DIFFERS'}: ${r.eventsReplayed} governance events up to tree size ${r.treeSize}, state root ${r.stateRoot}`];
  if (r.mismatchedTables.length) lines.push(`  projections that differ from the ledger: ${r.mismatchedTables.join(', ')}`);
  for (const c of r.checkpoints.filter((x) => !x.ok)) lines.push(`  checkpoint at ${c.treeSize} records state ${c.recorded}, replay gives ${c.replayed}`);
  if (r.refused) lines.push(`  event ${r.refused.index} was refused on replay: ${r.refused.message}`);
  return lines.join('\n');
}

function program(): Command {
  const cmd = new Command('chainproof')
    .description('Tamper-evident mined block ledger behind GraphQL')
    .exitOverride()
    // Commander's errors (and the help it shows with them) are said by main() as one line in the
    // CLI's own form; help asked for still goes to stdout.
    .configureOutput({ writeErr: () => {} })
    .addHelpText('after', `\nEnvironment:\n${ENV_DOCS.map(([n, d, m]) => `  ${n.padEnd(34)} ${m} (default: ${d})`).join('\n')}`);

  cmd.command('serve').description('start the GraphQL server (HTTP and WebSocket on one port)').action(async () => {
    const { serve } = await import('../server/serve.js');
    await serve(loadConfig());
  });

  cmd
    .command('verify')
    .description('verify a ledger; exits 1 if it is INVALID')
    .option('--full', 'stream and re-check every event, block and checkpoint (default: quick head check)')
    .option('--json', 'print the report as JSON')
    .option('--ledger <name>', 'ledger to verify', 'main')
    .option('--replay', 'also rebuild governance state from the ledger and compare it with the projections and checkpoints\' state roots, re-run every contract and compare its firings, and rebuild the ledger\'s provenance records and compare them')
    .option('--witness <vkey>', 'require the latest checkpoint to be cosigned by these witnesses (repeatable)', repeatable, [])
    .option('--threshold <n>', 'cosignatures required from the --witness keys (default ⌈(n+f+1)/2⌉ of n: 2f+1 of 3f+1)')
    .option('--key <vkey>', "the log's C2SP verifier key (Ledger.verifierKey) to check signatures with; repeatable, for the keys a rotated log was signed with (default: the configured signing key's and CHAINPROOF_PREVIOUS_VERIFIER_KEYS)", repeatable, [])
    .option('--no-signatures', 'without any key: check everything but checkpoint and server signatures')
    .action(async (opts: { full?: boolean; json?: boolean; ledger: string; replay?: boolean; witness: string[]; threshold?: string; key: string[]; signatures: boolean }) => {
      const config = loadConfig();
      const policy = { keys: witnessKeys(opts.witness), threshold: thresholdOf(opts) };
      // A malformed key is bad usage, refused before any work (exit 1 would say the ledger is INVALID).
      parseTrustedKeys(opts.key);
      const bar = !opts.json && process.stderr.isTTY ? progressBar(process.stderr) : undefined;
      // The newest checkpoint is not held against the configured key here: a changed one is this command's finding.
      const { report, replay, rulesReplay, provenanceReplay, witnesses } = await withLedger({ ...config }, async (services) => {
        if (opts.key.length === 0 && services.ledger.verifierKey() === null && opts.signatures) {
          throw new ChainproofError('VERIFIER_KEY_MISSING', "no key to check signatures with: pass --key <vkey> (the log's Ledger.verifierKey), or --no-signatures");
        }
        return {
          report: await services.ledger.verify(opts.ledger, Boolean(opts.full), { onProgress: bar?.update, verifierKeys: opts.key.length > 0 ? opts.key : undefined }),
          replay: opts.replay ? await services.governance.replay() : undefined,
          rulesReplay: opts.replay ? await services.rules.replay() : undefined,
          provenanceReplay: opts.replay ? await services.provenance.replay(opts.ledger) : undefined,
          witnesses: policy.keys.length > 0 ? await (await local()).checkWitnessPolicy(services, opts.ledger, policy) : undefined,
        };
      }, { keyCheck: false });
      bar?.done();
      const valid = report.status === 'VALID' && (replay?.ok ?? true) && (rulesReplay?.ok ?? true) && (provenanceReplay?.ok ?? true) && (witnesses?.ok ?? true);
      // Before the report: a reader that goes away mid-report ends the process with this code.
      process.exitCode = valid ? EXIT.OK : EXIT.INVALID;
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...report, ...(replay ? { replay, rulesReplay, provenanceReplay } : {}), ...(witnesses ? { witnesses } : {}) }, null, 2)}\n`);
      else {
        process.stdout.write(
          `${report.status}: ledger ${report.ledger}, ${report.mode.toLowerCase()} check, ${report.eventsVerified} events, ` +
            `${report.blocksVerified} blocks, ${report.checkpointsVerified} checkpoints in ${report.durationMs} ms` +
            `${report.signaturesChecked ? '' : ' (signatures NOT checked)'}\n`,
        );
        for (const i of report.issues) {
          const where = [i.index !== undefined && `event ${i.index}`, i.blockHeight !== undefined && `block ${i.blockHeight}`,
            i.checkpointId !== undefined && `checkpoint ${i.checkpointId}`].filter(Boolean).join(', ');
          process.stdout.write(`  ${i.kind}${where ? ` (${where})` : ''}: ${i.message}\n`);
        }
        if (replay) process.stdout.write(`${replayLine(replay)}\n`);
        if (rulesReplay) process.stdout.write(`${rulesReplayLine(rulesReplay)}\n`);
        if (provenanceReplay) process.stdout.write(`${provenanceReplayLine(provenanceReplay)}\n`);
        if (witnesses) process.stdout.write(`${witnesses.ok ? 'WITNESSED' : 'NOT WITNESSED'}: ${witnesses.message}\n`);
      }
    });

  cmd
    .command('checkpoint')
    .description('seal pending events into a block and sign a checkpoint there')
    .option('--name <name>', 'checkpoint name')
    .option('--tags <tags>', 'comma-separated tags', '')
    .option('--ledger <name>', 'ledger', 'main')
    .option('--json', 'print the checkpoint as JSON')
    .action(async (opts: { name?: string; tags: string; ledger: string; json?: boolean }) => {
      const tags = opts.tags.split(',').map((t) => t.trim()).filter(Boolean);
      const c = await withLedger(loadConfig(), ({ ledger: l }) => l.createCheckpoint(opts.ledger, opts.name, tags));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...c, rootHash: c.rootHash.toString('hex') }, null, 2)}\n`);
      } else process.stdout.write(c.note);
    });
  const filterOptions = (c: Command) =>
    serverOptions(c)
      .option('--ledger <name>', 'ledger', 'main')
      .option('--type <types>', 'event types, comma-separated')
      .option('--actor <actor>')
      .option('--author <author>')
      .option('--subsystem <subsystem>')
      .option('--start <time>', 'ISO time: events at or after')
      .option('--end <time>', 'ISO time: events at or before');

  filterOptions(cmd.command('query').description('list events, newest last'))
    .option('--limit <n>', 'at most this many (1..1000)', '50')
    .option('--json', 'print JSON')
    .action(async (opts: ServerOptions & FilterOptions & { limit: string; json?: boolean }) => {
      const limit = parseLimit(opts.limit, 1000);
      const page = await withSource(opts, (src) => src.events(opts.ledger, toFilter(opts), limit, null));
      if (opts.json) return void process.stdout.write(`${JSON.stringify(page.events, null, 2)}\n`);
      process.stdout.write(table(['index', 'time', 'type', 'actor', 'subsystem', 'result', 'id'], page.events.map((e) => [
        String(e.index), new Date(e.hlc.physicalMs).toISOString(), e.type, e.actor, e.subsystem ?? '', e.result ?? '', e.id.slice(0, 16),
      ])));
    });

  filterOptions(cmd.command('export').description('stream events as JSON Lines or a JSON array, in constant memory'))
    .option('--format <format>', 'jsonl or json', 'jsonl')
    .option('--output <file>', 'write here instead of stdout')
    .action(async (opts: ServerOptions & FilterOptions & { format: string; output?: string }) => {
      if (opts.format !== 'jsonl' && opts.format !== 'json') throw new ChainproofError('BAD_USER_INPUT', '--format must be json or jsonl');
      const filter = toFilter(opts);
      const json = opts.format === 'json';
      const bar = opts.output && process.stderr.isTTY ? progressBar(process.stderr) : undefined;
      const n = await withSource(opts, async (src) => {
        // The first page before any output: an unknown ledger or an unreachable server must leave
        // the file as it was, and stdout empty rather than holding an opening bracket.
        let page = await src.events(opts.ledger, filter, 1000, null);
        const total = bar ? (await src.stats(opts.ledger)).treeSize : 0;
        const file = opts.output === undefined ? undefined : openOutputFile('--output', opts.output);
        const write = file ? async (text: string) => file.write(text) : toStdout;
        try {
          let count = 0;
          if (json) await write('[\n');
          for (;;) {
            // One write per page: per-line writes would spend their time waiting on backpressure.
            const lines = page.events.map((e) => JSON.stringify(e));
            if (lines.length > 0) await write(json ? `${count === 0 ? '' : ',\n'}${lines.join(',\n')}` : `${lines.join('\n')}\n`);
            count += lines.length;
            bar?.update(page.events.at(-1)?.index ?? total, total);
            if (!page.hasNextPage || !page.endCursor) break;
            page = await src.events(opts.ledger, filter, 1000, page.endCursor);
          }
          if (json) await write('\n]\n');
          file?.commit();
          return count;
        } catch (e) {
          file?.discard();
          throw e;
        }
      });
      bar?.done();
      process.stderr.write(`exported ${n} events\n`);
    });

  serverOptions(cmd.command('stats'))
    .description('event counts by type, as bars')
    .option('--ledger <name>', 'ledger', 'main')
    .option('--json', 'print JSON')
    .action(async (opts: ServerOptions & { ledger: string; json?: boolean }) => {
      const stats = await withSource(opts, (src) => src.stats(opts.ledger));
      if (opts.json) return void process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
      process.stdout.write(`${stats.treeSize} events, ${stats.blocks} blocks\n`);
      const max = Math.max(1, ...stats.eventsByType.map((t) => t.count));
      const types = stats.eventsByType.map((t) => ({ ...t, type: shown(t.type) }));
      const width = Math.max(4, ...types.map((t) => t.type.length));
      for (const t of types) {
        process.stdout.write(`${t.type.padEnd(width)}  ${'█'.repeat(Math.max(1, Math.round((t.count / max) * 40)))} ${t.count}\n`);
      }
    });

  serverOptions(cmd.command('proof <eventId>'))
    .description('write a C2SP tlog-proof (checkpoint + index + inclusion proof + the event bytes)')
    .option('--ledger <name>', 'ledger', 'main')
    .option('--output <file>', 'write here instead of stdout')
    .action(async (eventId: string, opts: ServerOptions & { ledger: string; output?: string }) => {
      if (!/^[0-9a-f]{64}$/.test(eventId)) throw new ChainproofError('BAD_USER_INPUT', 'event id must be 64 lowercase hex characters');
      // Before the proof: where no checkpoint covers the event, fetching it signs and stores one.
      const file = opts.output === undefined ? undefined : openOutputFile('--output', opts.output);
      try {
        const text = tlogProofText(await withSource(opts, (src) => src.proof(opts.ledger, eventId)), eventId, opts.url !== undefined);
        if (file) {
          file.write(text);
          file.commit();
        } else process.stdout.write(text);
      } catch (e) {
        file?.discard();
        throw e;
      }
    });

  serverOptions(cmd.command('trace'))
    .description('what an agent queried, what it got, and which assertions and sources contributed')
    .requiredOption('--agent <agent>', 'the agent id recorded with its queries')
    .option('--since <when>', 'start: RFC 3339 time with zone (2026-12-01T03:00Z), a date, "now", or like "6 hours ago" / "90m"', '6 hours ago')
    .option('--until <when>', 'end (default: now, meaning every query up to the newest)', 'now')
    .option('--subject <glob>', 'subject glob: * within a path segment, ** across, ? one character')
    .option('--ledger <name>', 'ledger', 'main')
    .option('--limit <n>', `at most this many queries (1..${MAX_TRACE_LINES})`, '200')
    .option('--json', 'print JSON')
    .option('--proofs <dir>', 'write a C2SP tlog-proof per line into this directory, to check offline with verify-proof')
    .action(async (opts: ServerOptions & { agent: string; since: string; until: string; subject?: string; ledger: string; limit: string; json?: boolean; proofs?: string }) => {
      const now = Date.now();
      const request = {
        agent: opts.agent,
        sinceMs: parseWhen('--since', opts.since, now),
        untilMs: parseUntil('--until', opts.until, now),
        subject: opts.subject,
        first: parseLimit(opts.limit, MAX_TRACE_LINES),
      };
      // Said here with the flags' names: --until alone may be before the default --since.
      if (request.untilMs !== undefined && request.sinceMs > request.untilMs) {
        throw new ChainproofError('BAD_USER_INPUT', `--since must not be after --until (--since ${JSON.stringify(shown(opts.since))}, --until ${JSON.stringify(shown(opts.until))})`);
      }
      // Every option is checked before the directory is made: a refused command leaves nothing behind.
      serverOf(opts);
      const dir = opts.proofs === undefined ? undefined : userPath('--proofs', () => outputDir(opts.proofs!));
      // Every proof is fetched and checked before anything is printed or written: a trace printed
      // in full, with some of its proofs written, and then refused helps no one.
      const { trace, proofs } = await withMcpSources(opts, async (traces, ledgers) => {
        const t = await traces.trace(opts.ledger, request);
        const texts: Array<{ queryId: string; eventId: string; text: string }> = [];
        for (const line of dir === undefined ? [] : t.lines) {
          // From --url, the answer is the server's word: a queryId like ../x must not pick where the file goes.
          if (!QUERY_ID.test(line.queryId)) {
            throw new ChainproofError('PEER_MISBEHAVED', `the server answered query id ${JSON.stringify(shown(line.queryId.slice(0, 80)))}, which no server records`);
          }
          texts.push({ queryId: line.queryId, eventId: line.eventId, text: tlogProofText(await ledgers.proof(opts.ledger, line.eventId), line.eventId, opts.url !== undefined) });
        }
        return { trace: t, proofs: texts };
      });
      if (opts.json) process.stdout.write(`${JSON.stringify(trace, null, 2)}\n`);
      else process.stdout.write(formatTimeline(trace.lines, trace.truncated));
      if (dir === undefined) return;
      const names = proofFileNames(proofs);
      proofs.forEach((p, i) => userPath('--proofs', () => writeFileSync(join(dir, names[i]!), p.text)));
      process.stderr.write(`wrote ${proofs.length} proofs to ${dir}\n`);
    });

  cmd
    .command('verify-proof <file>')
    .description('check a tlog-proof offline against a verifier key; exits 1 if it does not verify')
    .requiredOption('--key <vkey>', 'the log\'s C2SP verifier key (Ledger.verifierKey)')
    .option('--origin <origin>', 'require this checkpoint origin')
    .option('--witness <vkey>', 'a witness\'s cosigner key (Ledger.witnessKey of a validator); repeatable', repeatable, [])
    .option('--threshold <n>', 'cosignatures required from the --witness keys (default ⌈(n+f+1)/2⌉ of n: 2f+1 of 3f+1)')
    .action(async (file: string, opts: { key: string; origin?: string; witness: string[]; threshold?: string }) => {
      const threshold = thresholdOf(opts);
      const result = verifyTlogProofFile(readSmallFile('<file>', file, MAX_PROOF_BYTES, 'a tlog-proof'), verifierKey(opts.key), opts.origin, { keys: witnessKeys(opts.witness), threshold });
      process.exitCode = result.ok ? EXIT.OK : EXIT.INVALID;
      process.stdout.write(`${result.ok ? 'VALID' : 'INVALID'}: ${result.message}\n`);
    });

  // One tool call may seal and sign a checkpoint (audit_checkpoint): more time than a read.
  serverOptions(cmd.command('mcp'), undefined, 300)
    .description('serve the audit tools over MCP on stdio (for agents)')
    .action(async (opts: ServerOptions) => {
      const [{ chainproofMcpServer }, { LineTransport }] = await Promise.all([
        import('../mcp/server.js'),
        import('../mcp/stdio.js'),
      ]);
      await withMcpSources(opts, async (traces, src, syncStatus) => {
        const server = chainproofMcpServer(src, '0.1.0', traces, syncStatus);
        const transport = new LineTransport();
        transport.onerror = (e) => process.stderr.write(`chainproof: mcp: ${e.message}\n`);
        const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
        await server.connect(transport);
        await closed;
        await server.close();
        if (transport.failure) process.exitCode = EXIT.INTERNAL;
      });
    });

  const keys = cmd.command('keys').description('manage API keys (directly on the database)');
  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--role <role>', 'reader, writer, governor, admin or validator')
    .option('--name <name>', 'the account the key acts as (default: <role>-<random>)')
    .option('--agent <agentId>', 'bind the key to this agent: it records query audits for it alone (repeatable)', repeatable, [])
    .option('--json', 'print JSON')
    .action(async (opts: { role: string; name?: string; agent: string[]; json?: boolean }) => {
      const name = opts.name ?? `${opts.role}-${randomBytes(3).toString('hex')}`;
      const scope = opts.agent.length > 0 ? { agents: opts.agent } : {};
      const { key, record } = await withLedger(loadConfig(), ({ keys: k }) => k.create(name, opts.role, `cli:${userInfo().username}`, scope));
      if (opts.json) process.stdout.write(`${JSON.stringify({ key, ...record }, null, 2)}\n`);
      else process.stdout.write(`${key}\n`);
      process.stderr.write(`created ${record.role} key ${record.id} (${record.name}); it is shown only this once\n`);
    });
  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await withLedger(loadConfig(), ({ keys: k }) => k.list());
      if (opts.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else {
        process.stdout.write(table(['id', 'name', 'role', 'agents', 'created', 'revoked'], list.map((k) => [
          k.id, k.name, k.role, k.agents?.join(',') ?? '*', k.createdAt.toISOString(), k.revokedAt?.toISOString() ?? '',
        ])));
      }
    });
  keys
    .command('revoke <idOrName>')
    .description('revoke an API key by id or name')
    .action(async (idOrName: string) => {
      const r = await withLedger(loadConfig(), ({ keys: k }) => k.revoke(idOrName, `cli:${userInfo().username}`));
      process.stdout.write(`revoked ${r.id} (${r.name})\n`);
    });
  addGovCommands(cmd, (fn) => withLedger(loadConfig(), ({ governance }) => fn(governance)), table);
  addSyncCommands(
    cmd,
    (fn) =>
      withLedger(loadConfig(), async (services) => {
        const sync = await (await local()).startLocalSync(loadConfig(), services);
        try {
          return await fn(sync);
        } finally {
          await sync.stop();
        }
      }),
    table,
  );
  return cmd;
}

interface FilterOptions {
  ledger: string;
  type?: string;
  actor?: string;
  author?: string;
  subsystem?: string;
  start?: string;
  end?: string;
}

async function withSource<T>(opts: ServerOptions, fn: (src: LedgerSource) => Promise<T>): Promise<T> {
  const server = serverOf(opts);
  if (server) return fn(remoteSource(server));
  const config = loadConfig();
  return withLedger(config, async (services) => fn((await local()).localSource(services, config)));
}

async function withMcpSources<T>(
  opts: ServerOptions,
  fn: (traces: TraceSource, ledgers: LedgerSource, syncStatus: () => Promise<SyncStatusView>) => Promise<T>,
): Promise<T> {
  const server = serverOf(opts);
  if (server) return fn(remoteTraceSource(server), remoteSource(server), remoteSync(server).status);
  const config = loadConfig();
  return withLedger(config, async (services) => {
    const sync = await (await local()).startLocalSync(config, services);
    return fn(directTraceSource(services.provenance), (await local()).localSource(services, config), () => sync.status());
  });
}

/**
 * A C2SP tlog-proof: the checkpoint, the event's index and inclusion proof, and the event's bytes,
 * once they are seen to prove `eventId`. `fromServer`: they are a server's answer (`--url`), not
 * this ledger's own proof, which would fail only on a database `verify` calls INVALID.
 */
function tlogProofText(b: ProofBundle, eventId: string, fromServer: boolean): string {
  const fault = proofFault(b, eventId);
  if (fault) throw new ChainproofError(fromServer ? 'PEER_MISBEHAVED' : 'INTERNAL', `the proof of event ${eventId} does not hold: ${fault}`);
  return formatTlogProof({
    index: b.index,
    hashes: b.hashes.map((h) => Buffer.from(h, 'hex')),
    extra: Buffer.from(b.canonical, 'base64'),
    checkpoint: b.note,
  });
}

function toFilter(o: FilterOptions): EventFilter {
  // As trace reads times: Date.parse took "12" for 2001, and a time without a zone as local time.
  const time = (flag: string, v: string | undefined) => (v === undefined ? undefined : parseWhen(flag, v));
  return {
    types: o.type?.split(',').map((t) => t.trim()).filter(Boolean),
    actor: o.actor,
    author: o.author,
    subsystem: o.subsystem,
    fromMs: time('--start', o.start),
    toMs: time('--end', o.end),
  };
}

/** `--threshold` counts `--witness` keys: without any it would be ignored, which a check must not be. */
function thresholdOf(opts: { witness: string[]; threshold?: string }): number | undefined {
  if (opts.threshold === undefined) return undefined;
  if (opts.witness.length === 0) throw new ChainproofError('BAD_USER_INPUT', '--threshold counts cosignatures of --witness keys: give at least one --witness');
  return parseLimit(opts.threshold, opts.witness.length, '--threshold');
}

function parseLimit(raw: string, max: number, flag = '--limit'): number {
  // Digits only: Number() also takes 0x10 and 1e2.
  const n = /^\d{1,16}$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ChainproofError('BAD_USER_INPUT', `${flag} must be an integer in 1..${max}`);
  return n;
}

function toStdout(chunk: string): Promise<void> {
  // Respect backpressure, so a million events never pile up in memory.
  return process.stdout.write(chunk) ? Promise.resolve() : new Promise((r) => process.stdout.once('drain', () => r()));
}

export async function main(argv: string[]): Promise<void> {
  // A reader that went away (`chainproof export | head`) is the end of the output, not a crash;
  // the verdict already reached (`verify | head -1` of an INVALID ledger) is still the exit code.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
    process.stderr.write(`chainproof: INTERNAL: cannot write the output (${e.message})\n`);
    process.exit(EXIT.INTERNAL);
  });
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return;
      // 'commander.help' is a command with subcommands given none (bare `chainproof`, `chainproof gov`).
      const message = e.code === 'commander.help' ? 'a command is needed: add --help to list them' : e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      process.stderr.write(`chainproof: BAD_USER_INPUT: ${shown(message)}\n`);
      process.exitCode = EXIT.USAGE;
      return;
    }
    if (isChainproofError(e)) {
      process.stderr.write(`chainproof: ${e.code}: ${e.message}\n`);
      process.exitCode = exitCodeFor(e);
      return;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === '3D000') {
      process.stderr.write(`chainproof: UNAVAILABLE: cannot reach the database (${err.message})\n`);
      process.exitCode = EXIT.UNAVAILABLE;
      return;
    }
    process.stderr.write(`chainproof: INTERNAL: ${err.message ?? String(e)}\n`);
    process.exitCode = EXIT.INTERNAL;
  }
}
