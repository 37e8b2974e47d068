export { NoteError, type NoteErrorCode } from './errors.js';
export {
  noteSignerFromSeed,
  computeKeyHash,
  formatVerifierKey,
  ED25519_ALG,
  type NoteSigner,
} from './signer.js';
export {
  signNote,
  openNote,
  verifyNote,
  parseVerifierKey,
  MAX_SIGNATURES,
  type NoteSignature,
  type VerifierKey,
} from './note.js';
export {
  checkpointHashAlg,
  formatCheckpoint,
  parseCheckpoint,
  ROOT_HASH_BYTES,
  type Checkpoint,
  type ParsedCheckpoint,
} from './checkpoint.js';
export { formatTlogProof, parseTlogProof, type TlogProof } from './tlog-proof.js';
export {
  cosignerFromSeed,
  cosignedMessage,
  parseCosignerKey,
  verifyCosignature,
  COSIGNATURE_ALG,
  type Cosigner,
  type CosignerKey,
} from './cosignature.js';
