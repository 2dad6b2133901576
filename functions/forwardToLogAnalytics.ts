import { app, type InvocationContext } from '@azure/functions';
import { forwarderTrigger } from '../shared/config.js';
import { forwardEvents, type HubEvent } from '../shared/usecases/forwardEvents.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/**
 * Event Hubs trigger (a batch per partition): forwards the hub's events to the Logs Ingestion API, the
 * Sentinel path for workspaces without the Event Hubs data import. A batch that could not be delivered
 * throws; the retry policy below runs it again, and the trigger's checkpoint does not pass it until then.
 */
export async function handleForwardToLogAnalyticsEvents(bodies: unknown[], context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  const ingestion = wiring.logsIngestion;
  if (!ingestion) throw new Error('forwardToLogAnalytics runs without LOGS_INGESTION_ENDPOINT; the function should not be registered');
  const result = await forwardEvents(hubEvents(bodies, context), { ingestion, blobs: wiring.blobs, logger, metrics });
  logger.info('events forwarded', { ...result, retryCount: context.retryContext?.retryCount ?? 0 });
}

/** The batch with the trigger's per-event metadata (arrays in the same order as the bodies). */
function hubEvents(bodies: unknown[], context: InvocationContext): HubEvent[] {
  const metadata = context.triggerMetadata ?? {};
  const enqueued = arrayOf(metadata.enqueuedTimeUtcArray);
  const properties = arrayOf(metadata.propertiesArray);
  const sequenceNumbers = arrayOf(metadata.sequenceNumberArray);
  const partition = (metadata.partitionContext as { partitionId?: unknown } | undefined)?.partitionId;
  return (Array.isArray(bodies) ? bodies : [bodies]).map((body, i) => {
    const time = enqueued[i] === undefined ? NaN : new Date(enqueued[i] as string | Date).getTime();
    const sequenceNumber = Number(sequenceNumbers[i]);
    return {
      body,
      enqueuedTime: Number.isFinite(time) ? new Date(time).toISOString() : undefined,
      properties: typeof properties[i] === 'object' && properties[i] !== null ? (properties[i] as Record<string, unknown>) : undefined,
      partitionId: partition === undefined ? undefined : String(partition),
      sequenceNumber: Number.isFinite(sequenceNumber) ? sequenceNumber : undefined,
    };
  });
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

const trigger = forwarderTrigger(process.env);
if (trigger) {
  app.eventHub('forwardToLogAnalytics', {
    connection: 'EVENTHUB_CONNECTION',
    eventHubName: '%EVENTHUB_NAME%',
    consumerGroup: trigger.consumerGroup,
    cardinality: 'many',
    // Retry a failed batch until it goes through: the checkpoint stays before it meanwhile, so no event is
    // skipped. Delays grow from 10 s to 5 min; a fault that lasts longer than the hub's retention loses events.
    retry: { strategy: 'exponentialBackoff', maxRetryCount: -1, minimumInterval: { seconds: 10 }, maximumInterval: { minutes: 5 } },
    handler: (bodies, context) => handleForwardToLogAnalyticsEvents(bodies as unknown[], context),
  });
}
