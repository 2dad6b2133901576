import type { InvocationContext } from '@azure/functions';
import type { Logger, Metrics } from '../../ports.js';
import { scopeOf, workerTelemetry } from './workerTelemetry.js';

/**
 * Logger of one invocation. With worker telemetry on (in the Functions host with Application Insights),
 * each line is an OpenTelemetry log record whose fields are attributes (customDimensions) and which
 * carries the invocation's trace context. Otherwise (local runs, tests) it writes through the context.
 */
export function invocationLogger(context: InvocationContext): Logger {
  const telemetry = workerTelemetry();
  if (telemetry) return telemetry.logger(scopeOf(context));
  return {
    debug: (message, fields) => context.debug(message, fields ?? {}),
    info: (message, fields) => context.info(message, fields ?? {}),
    warn: (message, fields) => context.warn(message, fields ?? {}),
    error: (message, fields) => context.error(message, fields ?? {}),
  };
}

/** A process-level logger (adapters that outlive an invocation): one JSON line per event on stderr/stdout. */
export function consoleLogger(minimum: 'debug' | 'info' | 'warn' | 'error' = 'info'): Logger {
  const order = ['debug', 'info', 'warn', 'error'] as const;
  const write = (level: (typeof order)[number]) => (message: string, fields?: Record<string, unknown>) => {
    if (order.indexOf(level) < order.indexOf(minimum)) return;
    const line = JSON.stringify({ level, message, ...fields });
    if (level === 'error' || level === 'warn') console.error(line);
    else console.log(line);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/**
 * Metrics of an invocation: OpenTelemetry instruments (customMetrics in Application Insights) when
 * worker telemetry is on, else structured log lines (`metric <name>` with `value` and dimensions) for
 * local runs and tests.
 */
export function invocationMetrics(logger: Logger): Metrics {
  return workerTelemetry()?.metrics ?? logMetrics(logger);
}

/** Metrics as structured log lines (`metric <name>` with `value` and dimensions). */
export function logMetrics(logger: Logger): Metrics {
  return { count: (name, value, dimensions) => logger.info(`metric ${name}`, { metric: name, value, ...dimensions }) };
}
