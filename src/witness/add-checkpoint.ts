import { decodeBase64Strict } from '../ledger/note/encoding.js';

/** What a witness answers: an HTTP status, a content type and a body, as c2sp.org/tlog-witness says. */
export interface WitnessResponse {
  status: number;
  contentType: string;
  body: string;
}

export const textResponse = (status: number, body: string): WitnessResponse => ({ status, contentType: 'text/plain; charset=utf-8', body });

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Buffer[];
  /** The submitted checkpoint note, signatures included. */
  note: string;
}

const MAX_PROOF_LINES = 63;

/**
 * Parses an add-checkpoint body (attacker-controlled): `old <size>\n`, up to 63 base64 hash
 * lines, an empty line, then the signed checkpoint. Returns a 400 response when malformed.
 */
export function parseAddCheckpoint(body: string): AddCheckpointRequest | WitnessResponse {
  const blank = body.indexOf('\n\n');
  if (blank < 0) return textResponse(400, 'want an old size line, proof lines, an empty line, then the checkpoint\n');
  const head = body.slice(0, blank).split('\n');
  const old = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0] ?? '');
  if (!old || !Number.isSafeInteger(Number(old[1]))) return textResponse(400, 'the first line must be "old <size>"\n');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) return textResponse(400, `at most ${MAX_PROOF_LINES} consistency proof lines\n`);
  const proof: Buffer[] = [];
  for (const line of lines) {
    const hash = decodeBase64Strict(line);
    if (!hash || hash.length !== 32) return textResponse(400, 'each proof line must be one base64 SHA-256 hash\n');
    proof.push(hash);
  }
  return { oldSize: Number(old[1]), proof, note: body.slice(blank + 2) };
}
