import pino, { type Logger } from 'pino';

/** JSON logs; anything that could carry a secret is redacted before it is written. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'chainproof' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.signingSeedHex', 'signingSeedHex', '*.databaseUrl', 'databaseUrl'],
      censor: '[redacted]',
    },
  });
}
