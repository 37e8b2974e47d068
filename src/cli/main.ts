import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { ENV_DOCS, loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/database.js';
import { ChainproofError, isChainproofError } from '../errors.js';
import { LedgerService } from '../ledger/ledger-service.js';
import { loadServerKey } from '../ledger/server-key.js';
import { serve } from '../server/serve.js';
import { progressBar } from './progress.js';

/** Exit codes: 0 ok, 1 ledger INVALID, 2 bad usage/input/configuration, 3 database or server unavailable, 4 internal. */
export const EXIT = { OK: 0, INVALID: 1, USAGE: 2, UNAVAILABLE: 3, INTERNAL: 4 } as const;

async function withLedger<T>(config: Config, fn: (ledger: LedgerService) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  const key = loadServerKey(config, db.kind === 'embedded')?.key;
  // No background mining: a CLI command does its one job (checkpoint seals what it needs itself).
  const ledger = new LedgerService(db.dataSource, config, key, pino({ level: 'silent' }), { produceBlocks: false });
  try {
    await ledger.start();
    return await fn(ledger);
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
  return cmd;
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
