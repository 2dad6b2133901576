import { app, type InvocationContext } from '@azure/functions';
import type { TokenCredential } from '@azure/identity';
import { aadClientIdOf, startAzureMonitorTelemetry } from '../telemetry/azureMonitor.js';
import type { InvocationScope, Telemetry } from '../telemetry/openTelemetry.js';

let active: Telemetry | undefined;

/**
 * Turns on OpenTelemetry in the Functions worker when the host runs it with Application Insights
 * (`FUNCTIONS_WORKER_RUNTIME` and `APPLICATIONINSIGHTS_CONNECTION_STRING` set; host.json has
 * `"telemetryMode": "OpenTelemetry"`). Must run while the app's modules load: it tells the host, through
 * the worker capability `WorkerOpenTelemetryEnabled`, that the worker exports its own logs (so the host
 * does not duplicate them), forwards any `context.log` line that does not come through our logger, and
 * flushes on shutdown. Returns undefined (nothing changes) outside the host or without a connection string.
 */
export function enableWorkerTelemetry(env: Readonly<Record<string, string | undefined>>, credentialFor: (clientId?: string) => TokenCredential): Telemetry | undefined {
  if (active) return active;
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (!connectionString || !env.FUNCTIONS_WORKER_RUNTIME) return undefined;
  const { aad, clientId } = aadClientIdOf(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
  const telemetry = startAzureMonitorTelemetry({ connectionString, credential: aad ? credentialFor(clientId) : undefined });
  app.setup({ capabilities: { WorkerOpenTelemetryEnabled: true } });
  app.hook.log((ctx) => {
    const scope = ctx.invocationContext ? scopeOf(ctx.invocationContext as InvocationContext) : {};
    const logger = telemetry.logger(scope);
    const level = ctx.level === 'error' || ctx.level === 'critical' ? 'error' : ctx.level === 'warning' ? 'warn' : ctx.level === 'information' ? 'info' : 'debug';
    logger[level](ctx.message, { category: ctx.category });
  });
  app.hook.appTerminate(() => telemetry.shutdown());
  active = telemetry;
  return telemetry;
}

/** The worker's telemetry when {@link enableWorkerTelemetry} turned it on. */
export function workerTelemetry(): Telemetry | undefined {
  return active;
}

/** An invocation's id, function name and W3C trace context, for log attributes and correlation. */
export function scopeOf(context: InvocationContext): InvocationScope {
  return {
    invocationId: context.invocationId,
    functionName: context.functionName,
    traceParent: context.traceContext?.traceParent,
    traceState: context.traceContext?.traceState,
  };
}
