import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { ENV_DOCS, loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/database.js';
import { ChainproofError, isChainproofError } from '../errors.js';
import { LedgerService } from '../ledger/ledger-service.js';
import { loadServerKey } from '../ledger/server-key.js';
import { serve } from '../server/serve.js';
import { ApiKeyService, SYSTEM_LEDGER } from '../auth/api-keys.js';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { progressBar } from './progress.js';

/** Exit codes: 0 ok, 1 ledger INVALID, 2 bad usage/input/configuration, 3 database or server unavailable, 4 internal. */
export const EXIT = { OK: 0, INVALID: 1, USAGE: 2, UNAVAILABLE: 3, INTERNAL: 4 } as const;

async function withLedger<T>(config: Config, fn: (ledger: LedgerService, keys: ApiKeyService) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  const key = loadServerKey(config, db.kind === 'embedded')?.key;
  // No background mining: a CLI command does its one job (checkpoint seals what it needs itself).
  const ledger = new LedgerService(db.dataSource, config, key, pino({ level: 'silent' }), { produceBlocks: false });
  try {
    await ledger.start(['main', SYSTEM_LEDGER]);
    return await fn(ledger, new ApiKeyService(db.dataSource, ledger));
  } finally {
    await ledger.stop();
    await db.close();
  }
}

function program(): Command {
  const cmd = new Command('chainproof')
    .description('Tamper-evident mined block ledger behind GraphQL')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', `\nEnvironment:\n${ENV_DOCS.map(([n, d, m]) => `  ${n.padEnd(34)} ${m} (default: ${d})`).join('\n')}`);

  cmd.command('serve').description('start the GraphQL server (HTTP and WebSocket on one port)').action(async () => {
    await serve(loadConfig());
  });

  cmd
    .command('verify')
    .description('verify a ledger; exits 1 if it is INVALID')
    .option('--full', 'stream and re-check every event, block and checkpoint (default: quick head check)')
    .option('--json', 'print the report as JSON')
    .option('--ledger <name>', 'ledger to verify', 'main')
    .action(async (opts: { full?: boolean; json?: boolean; ledger: string }) => {
      const config = loadConfig();
      const bar = !opts.json && process.stderr.isTTY ? progressBar(process.stderr) : undefined;
      const report = await withLedger({ ...config }, (l) => l.verify(opts.ledger, Boolean(opts.full), bar?.update));
      bar?.done();
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        process.stdout.write(
          `${report.status}: ledger ${report.ledger}, ${report.mode.toLowerCase()} check, ${report.eventsVerified} events, ` +
            `${report.blocksVerified} blocks, ${report.checkpointsVerified} checkpoints in ${report.durationMs} ms\n`,
        );
        for (const i of report.issues) {
          const where = [i.index !== undefined && `event ${i.index}`, i.blockHeight !== undefined && `block ${i.blockHeight}`,
            i.checkpointId !== undefined && `checkpoint ${i.checkpointId}`].filter(Boolean).join(', ');
          process.stdout.write(`  ${i.kind}${where ? ` (${where})` : ''}: ${i.message}\n`);
        }
      }
      process.exitCode = report.status === 'VALID' ? EXIT.OK : EXIT.INVALID;
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
      const c = await withLedger(loadConfig(), (l) => l.createCheckpoint(opts.ledger, opts.name, tags));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...c, rootHash: c.rootHash.toString('hex') }, null, 2)}\n`);
      } else process.stdout.write(c.note);
    });
  const keys = cmd.command('keys').description('manage API keys (directly on the database)');
  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--role <role>', 'reader, writer, governor, admin or validator')
    .option('--name <name>', 'the account the key acts as (default: <role>-<random>)')
    .option('--json', 'print JSON')
    .action(async (opts: { role: string; name?: string; json?: boolean }) => {
      const name = opts.name ?? `${opts.role}-${randomBytes(3).toString('hex')}`;
      const { key, record } = await withLedger(loadConfig(), (_l, k) => k.create(name, opts.role, `cli:${userInfo().username}`));
      if (opts.json) process.stdout.write(`${JSON.stringify({ key, ...record }, null, 2)}\n`);
      else process.stdout.write(`${key}\n`);
      process.stderr.write(`created ${record.role} key ${record.id} (${record.name}); it is shown only this once\n`);
    });
  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await withLedger(loadConfig(), (_l, k) => k.list());
      if (opts.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else {
        process.stdout.write(table(['id', 'name', 'role', 'created', 'revoked'], list.map((k) => [
          k.id, k.name, k.role, k.createdAt.toISOString(), k.revokedAt?.toISOString() ?? '',
        ])));
      }
    });
  keys
    .command('revoke <idOrName>')
    .description('revoke an API key by id or name')
    .action(async (idOrName: string) => {
      const r = await withLedger(loadConfig(), (_l, k) => k.revoke(idOrName, `cli:${userInfo().username}`));
      process.stdout.write(`revoked ${r.id} (${r.name})\n`);
    });
  return cmd;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function exitCodeFor(e: ChainproofError): number {
  if (e.code === 'UNAVAILABLE') return EXIT.UNAVAILABLE;
  if (e.code === 'INTERNAL') return EXIT.INTERNAL;
  return EXIT.USAGE;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
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
