/** What a queryId may be: also a safe file name, which `chainproof trace --proofs` names each proof by. */
export const QUERY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
