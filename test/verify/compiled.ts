import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Verify from '../../src/ledger/verify/index.js';

const root = join(import.meta.dirname, '..', '..');

/**
 * The verifier compiled to JavaScript, as production runs it: the content worker is compiled
 * JavaScript (a worker thread cannot load TypeScript), so the sources the test runner loads
 * never start it. Compiles into node_modules/.cache (where the packages resolve); `remove()`
 * deletes the build.
 */
export function compileVerifier(): { dir: string; import<T = typeof Verify>(file?: string): Promise<T>; remove(): void } {
  const dir = join(root, 'node_modules', '.cache', `verify-build-${process.pid}-${Date.now().toString(36)}`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [tsc, '--outDir', dir, '--rootDir', root, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--experimentalDecorators', '--emitDecoratorMetadata', '--esModuleInterop', '--skipLibCheck', '--strict',
      join(root, 'src/ledger/verify/index.ts'), join(root, 'src/ledger/verify/content-worker.ts')],
    { stdio: 'inherit' },
  );
  return {
    dir,
    import: <T>(file = 'index.js') => import(pathToFileURL(join(dir, 'src/ledger/verify', file)).href) as Promise<T>,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
