export * from './hasher.js';
export * from './frontier.js';
export * from './proofs.js';
export * from './verify.js';
