import pino from 'pino';
import { CONTROLLER, CONTROLLER_DEFAULTS, CONTROLLER_ENV } from '../../api';

/** Structured JSON logs (one object a line) for the controller; LOG_LEVEL sets the level. */
export type Logger = pino.Logger;

export function createLogger(level = process.env[CONTROLLER_ENV.logLevel] ?? CONTROLLER_DEFAULTS.logLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { component: CONTROLLER.name }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
