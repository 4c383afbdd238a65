import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line, whatever object they sit in. */
export const redactedPaths = [
  'password',
  'secret',
  'token',
  'authorization',
  'apiKey',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.apiKey',
  '*.secretAccessKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export function createLogger(name: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
