import { app, type InvocationContext } from '@azure/functions';
import type { TokenCredential } from '@azure/identity';
import type { InvocationScope, Telemetry } from '../telemetry/openTelemetry.js';

let active: Telemetry | undefined;
let starting: Promise<Telemetry> | undefined;

/**
 * Turns on OpenTelemetry in the Functions worker when the host runs it with Application Insights
 * (`FUNCTIONS_WORKER_RUNTIME` and `APPLICATIONINSIGHTS_CONNECTION_STRING` set; host.json has
 * `"telemetryMode": "OpenTelemetry"`). Must run while the app's modules load: it tells the host, through
 * the worker capability `WorkerOpenTelemetryEnabled`, that the worker exports its own logs (so the host
 * does not duplicate them), forwards any `context.log` line that does not come through our logger, and
 * flushes on shutdown. Returns undefined (nothing changes) outside the host or without a connection string.
 * The exporter loads asynchronously; `workerTelemetry()` returns it once it is ready, which every
 * invocation waits for.
 */
export function enableWorkerTelemetry(env: Readonly<Record<string, string | undefined>>, credentialFor: (clientId?: string) => TokenCredential): Promise<Telemetry> | undefined {
  if (starting) return starting;
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (!connectionString || !env.FUNCTIONS_WORKER_RUNTIME) return undefined;
  // The capability must be declared now, while modules load; the exporter (a second or two to import)
  // loads meanwhile, and the first invocation waits for it, so no log line is lost.
  app.setup({ capabilities: { WorkerOpenTelemetryEnabled: true } });
  starting ??= import('../telemetry/azureMonitor.js').then(({ aadClientIdOf, startAzureMonitorTelemetry }) => {
    const { aad, clientId } = aadClientIdOf(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
    active = startAzureMonitorTelemetry({ connectionString, credential: aad ? credentialFor(clientId) : undefined });
    return active;
  });
  app.hook.preInvocation(async () => {
    await starting;
  });
  app.hook.log((ctx) => {
    if (!active) return;
    const scope = ctx.invocationContext ? scopeOf(ctx.invocationContext as InvocationContext) : {};
    const level = ctx.level === 'error' || ctx.level === 'critical' ? 'error' : ctx.level === 'warning' ? 'warn' : ctx.level === 'information' ? 'info' : 'debug';
    active.logger(scope)[level](ctx.message, { category: ctx.category });
  });
  app.hook.appTerminate(async () => {
    await (await starting)?.shutdown();
  });
  return starting;
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
