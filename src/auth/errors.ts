import { ChainproofError } from '../errors.js';

export const unauthenticated = (message = 'this needs an API key: send Authorization: Bearer <key>') =>
  new ChainproofError('UNAUTHENTICATED', message);

export const forbidden = (required: string) => new ChainproofError('FORBIDDEN', `this needs the ${required} role`);
