import type { InvocationContext } from '@azure/functions';
import type { Logger, Metrics } from '../../ports.js';

/** Logger over an invocation's context, so lines correlate with the invocation in Application Insights. */
export function invocationLogger(context: InvocationContext): Logger {
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
 * Metrics as structured log events (`metric <name>`), queryable in Application Insights traces
 * (customDimensions.value). No extra SDK; a dedicated exporter can replace this adapter later.
 */
export function logMetrics(logger: Logger): Metrics {
  return { count: (name, value, dimensions) => logger.info(`metric ${name}`, { metric: name, value, ...dimensions }) };
}
