import { app, type InvocationContext } from '@azure/functions';
import { onPoison } from '../shared/usecases/onPoison.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Poison-queue trigger: a blob whose message the queue gave up on is recorded `poisoned`; reconcile retries it with backoff. */
export async function handleOnPoisonMessage(message: unknown, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { deps, options } = wiring.delivery(observability(context));
  await onPoison(message, deps, Number(context.triggerMetadata?.dequeueCount ?? 0), options);
}

app.storageQueue('onPoison', {
  queueName: '%CONTENT_QUEUE_NAME%-poison',
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => handleOnPoisonMessage(message, context),
});
