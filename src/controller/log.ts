import pino from 'pino';

/** Structured JSON logs (one object a line) for the controller; LOG_LEVEL sets the level. */
export type Logger = pino.Logger;

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { component: 'kubeopencode-controller' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
