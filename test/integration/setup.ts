import { afterAll, afterEach } from 'vitest';
import { ingestContent } from '../../functions/ingestContent.js';
import { startEventHubBroker } from '../../tools/eventHubBroker/index.js';
import { createQueueWorker } from '../../tools/stack/queueWorker.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

/**
 * The Event Hubs test broker with one hub, for the tests of one file: `await` it at the file's top level.
 * Each test starts its own harness with the returned `startHarness`; after the test that harness is closed
 * and the broker's events and faults are reset; after the file's last test the broker stops.
 */
export async function startDeliveryStack(hub: string, partitionCount: number) {
  const broker = await startEventHubBroker({ hubs: [{ name: hub, partitionCount }] });
  let started: Harness | undefined;
  afterAll(() => broker.close());
  afterEach(async () => {
    await started?.close();
    started = undefined;
    broker.reset();
  });
  /** startHarness with `options` as given (no delivery to the broker); closed after the test. */
  const startHarnessWithoutBroker = async (options: HarnessOptions): Promise<Harness> => (started = await startHarness(options));
  return {
    broker,
    /** startHarness delivering to the broker's hub (`options.env` applies over that); closed after the test. */
    startHarness: (options: HarnessOptions) =>
      startHarnessWithoutBroker({ ...options, env: { EVENTHUB_CONNECTION: broker.connectionString(), EVENTHUB_NAME: hub, ...options.env } }),
    startHarnessWithoutBroker,
  };
}

/**
 * A worker that runs the messages on the harness's content queue through the `ingestContent` function, as
 * the Functions host would, without a visibility delay; a message that keeps failing moves to `<queue>-poison`.
 */
export function ingestWorker(harness: Harness) {
  return createQueueWorker({
    queue: harness.wiring.storage.queue(harness.config.contentQueueName),
    poisonQueue: harness.wiring.storage.queue(`${harness.config.contentQueueName}-poison`),
    functionName: 'ingestContent',
    handler: (message, context) => ingestContent(message, context, harness.wiring),
    visibilityTimeoutInSeconds: 0,
  });
}

