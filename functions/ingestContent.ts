import { app, type InvocationContext } from '@azure/functions';
import { ingestContent } from '../shared/usecases/ingestContent.js';
import type { IngestOutcome } from '../shared/usecases/common/delivery.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/**
 * Queue trigger: delivers one content blob to Event Hubs (docs/architecture.md, "Delivery"). Every outcome the
 * use case can record completes the message: permanent problems end with a reason, transient ones re-enqueue
 * the blob with a backoff. It throws only when even that could not be recorded (storage unreachable); the
 * queue then redelivers, and after maxDequeueCount attempts the message goes to the poison queue.
 */
export async function handleIngestContentMessage(message: unknown, context: InvocationContext, wiring: Wiring = getWiring()): Promise<IngestOutcome> {
  const observed = observability(context);
  const { deps, options } = wiring.delivery(observed);
  const outcome = await ingestContent(message, deps, options);
  observed.logger.debug('ingest outcome', { status: outcome.status, contentId: outcome.contentId, dequeueCount: context.triggerMetadata?.dequeueCount });
  return outcome;
}

app.storageQueue('ingestContent', {
  queueName: '%CONTENT_QUEUE_NAME%',
  connection: 'AzureWebJobsStorage',
  // No output binding: the outcome is for callers in this repository (the local runner), not for the host.
  handler: async (message, context) => {
    await handleIngestContentMessage(message, context);
  },
});
