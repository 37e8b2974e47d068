import { NoteError } from './errors.js';

/**
 * C2SP tlog-proof (c2sp.org/tlog-proof@v1): a checkpoint, an index, the inclusion proof at
 * that index, and opaque extra data — here the event's canonical bytes, so the file alone
 * proves what was logged.
 */
export interface TlogProof {
  index: number;
  hashes: Uint8Array[];
  extra?: Uint8Array;
  /** The whole signed checkpoint note. */
  checkpoint: string;
}

const HEADER = 'c2sp.org/tlog-proof@v1';

export function formatTlogProof(p: TlogProof): string {
  const lines = [HEADER];
  if (p.extra) lines.push(`extra ${Buffer.from(p.extra).toString('base64')}`);
  lines.push(`index ${p.index}`);
  for (const h of p.hashes) lines.push(Buffer.from(h).toString('base64'));
  return `${lines.join('\n')}\n\n${p.checkpoint}`;
}

/** Parses a tlog-proof; the checkpoint's signatures are for the caller to verify. Input is attacker-controlled. */
export function parseTlogProof(text: string): TlogProof {
  const bad = (why: string): never => {
    throw new NoteError('MALFORMED_NOTE', `malformed tlog-proof: ${why}`);
  };
  const split = text.indexOf('\n\n');
  if (split < 0) bad('no blank line before the checkpoint');
  const head = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (head[0] !== HEADER) bad(`first line must be ${HEADER}`);
  let i = 1;
  let extra: Buffer | undefined;
  if (head[i]?.startsWith('extra ')) extra = strictBase64(head[i++]!.slice(6), bad);
  const m = /^index (0|[1-9]\d{0,15})$/.exec(head[i++] ?? '');
  if (!m) bad('missing or bad index line');
  // 16 digits reach past 2^53: such an index would be read as another, rounded one.
  if (!Number.isSafeInteger(Number(m![1]))) bad(`index ${m![1]} is past the largest this reader takes (${Number.MAX_SAFE_INTEGER})`);
  const hashes = head.slice(i).map((l) => {
    const h = strictBase64(l, bad);
    if (h.length !== 32) bad('proof hashes must be 32 bytes');
    return h;
  });
  return { index: Number(m![1]), hashes, extra, checkpoint };
}

function strictBase64(s: string, bad: (why: string) => never): Buffer {
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) bad('not canonical base64');
  return b;
}
