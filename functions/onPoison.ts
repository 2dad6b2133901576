import { app, type InvocationContext } from '@azure/functions';
import { onPoison as recordPoisoned } from '../shared/usecases/onPoison.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Poison-queue trigger: a blob whose retries are exhausted is recorded as poisoned and reported in-band. */
export async function onPoison(message: unknown, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  await recordPoisoned(
    message,
    { tenants: wiring.tenants, ledger: wiring.ledger, source: wiring.source, sink: wiring.sink, blobs: wiring.blobs, clock: wiring.clock, logger, metrics },
    Number(context.triggerMetadata?.dequeueCount ?? 0),
  );
}

app.storageQueue('onPoison', {
  queueName: '%CONTENT_QUEUE_NAME%-poison',
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => onPoison(message, context),
});
