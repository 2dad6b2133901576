/**
 * The ports: what use cases need from the outside world, as plain data and promises. Adapters in
 * shared/adapters implement them over the Azure SDKs and HTTP; tests implement them in memory.
 */

/** Structured logging: a constant event name plus fields. Never pass secrets, tokens or record bodies. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The only source of "now" for core and use cases. */
export interface Clock {
  now(): number;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
