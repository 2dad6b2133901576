import { app, type InvocationContext } from '@azure/functions';
import { ingestContent as ingest } from '../shared/usecases/ingestContent.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/**
 * Queue trigger: delivers one content blob to Event Hubs (docs/architecture.md, "Delivery"). Permanent problems are
 * recorded and the message completes; transient ones throw, so the queue redelivers after the
 * visibility timeout and, after maxDequeueCount attempts, moves the message to the poison queue.
 */
export async function ingestContent(message: unknown, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  const outcome = await ingest(
    message,
    { tenants: wiring.tenants, ledger: wiring.ledger, source: wiring.source, sink: wiring.sink, blobs: wiring.blobs, clock: wiring.clock, logger, metrics },
    { maxEventBytes: wiring.config.ingest.maxEventBytes, partitionKeyMode: wiring.config.ingest.partitionKeyMode, eventProfile: wiring.config.ingest.eventProfile },
  );
  logger.debug('ingest outcome', { status: outcome.status, contentId: outcome.contentId, dequeueCount: context.triggerMetadata?.dequeueCount });
}

app.storageQueue('ingestContent', {
  queueName: '%CONTENT_QUEUE_NAME%',
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => ingestContent(message, context),
});
