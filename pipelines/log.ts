import pino, { type Logger } from 'pino';

/** Structured logs (JSON lines) go to stderr; stdout is for what a person asked to see (progress, summaries, query results). */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }),
  );
}
