import { app, type InvocationContext } from '@azure/functions';
import { onPoison as recordPoisoned } from '../shared/usecases/onPoison.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Poison-queue trigger: a blob whose message the queue gave up on is recorded `poisoned`; reconcile retries it with backoff. */
export async function onPoison(message: unknown, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  const { deps, options } = wiring.delivery(logger, metrics);
  await recordPoisoned(message, deps, Number(context.triggerMetadata?.dequeueCount ?? 0), options);
}

app.storageQueue('onPoison', {
  queueName: '%CONTENT_QUEUE_NAME%-poison',
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => onPoison(message, context),
});
