import { fsyncSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';

/** The part of Emscripten's NODEFS this touches: a stream of it holds the real file's descriptor. */
interface NodeFsModule {
  FS: { filesystems: { NODEFS: { stream_ops: { fsync?: (stream: { nfd?: number }) => number } } } };
}

/**
 * PGlite in `dir`, keeping what PostgreSQL commits through a power loss or an operating-system
 * crash (see DurableNodeFS): the file system and the start parameters only work together.
 *
 * @example const db = await openDurablePGlite(join(dataDir, 'pg'));
 */
export function openDurablePGlite(dir: string): Promise<PGlite> {
  return PGlite.create({ fs: new DurableNodeFS(dir), startParams: DURABLE_START_PARAMS });
}

/**
 * PGlite's file system on Node, made to keep what PostgreSQL commits through a power loss or an
 * operating-system crash, not only through a crash of this process.
 *
 * As shipped, PGlite starts PostgreSQL with `fsync = off` (`-F`), and its Emscripten NODEFS has
 * no `fsync` at all: every `fsync()` PostgreSQL makes is answered as done without reaching the
 * disk. A committed transaction then lives in the OS page cache until the kernel writes it back,
 * and a power cut can take acknowledged events (and the leaves under a signed checkpoint) with it.
 * Here each `fsync()` goes to the real descriptor, and PostgreSQL runs with `fsync = on` and
 * `wal_sync_method = fsync`: its default, `fdatasync`, reaches a call the Emscripten build leaves
 * empty.
 */
class DurableNodeFS extends NodeFS {
  override async init(...args: Parameters<NodeFS['init']>): ReturnType<NodeFS['init']> {
    const result = await super.init(...args);
    const opts = result.emscriptenOpts as { preRun?: Array<(module: NodeFsModule) => void> };
    opts.preRun = [
      ...(opts.preRun ?? []),
      (module) => {
        module.FS.filesystems.NODEFS.stream_ops.fsync = (stream) => {
          // A failed fsync throws out of PostgreSQL's call, so the statement that asked for it
          // fails unacknowledged instead of going on as if its pages were on disk.
          if (stream.nfd !== undefined) fsyncSync(stream.nfd);
          return 0;
        };
      },
    ];
    return result;
  }
}

/** PGlite's own start parameters but `-F` (fsync off), and the WAL synced by the call DurableNodeFS makes real. */
const DURABLE_START_PARAMS: string[] = [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync'];
