/**
 * The soak run's ingest worker, a child process the soak kills (SIGKILL) mid-blob and starts again.
 * It is what a Functions worker is: the wiring built from the environment, and the `ingestContent`
 * and `onPoison` handlers from functions/ driven by the queue worker with the host's semantics. It
 * tells the parent when a blob starts and ends, so the parent can aim its kills at blobs in flight.
 *
 * Soak-only settings (environment): SOAK_RETRY_VISIBILITY_SECONDS (visibility timeout after a failed
 * attempt; the host's is 30 s) and SOAK_LEASE_SECONDS (how long a received message stays invisible).
 */
import { handleIngestContentMessage } from '../../functions/ingestContent.js';
import { handleOnPoisonMessage } from '../../functions/onPoison.js';
import { consoleLogger } from '../../shared/adapters/functions/logging.js';
import { loadConfig } from '../../shared/config.js';
import { createWiring } from '../../shared/wiring.js';
import { notify } from '../common/ipc.js';
import { createQueueWorker } from '../local/queueWorker.js';

const config = loadConfig(process.env);
const wiring = createWiring(config, { logger: consoleLogger('warn') });
const visibilityTimeoutInSeconds = Number(process.env.SOAK_RETRY_VISIBILITY_SECONDS ?? 30);
const leaseInSeconds = Number(process.env.SOAK_LEASE_SECONDS ?? 300);
const poisonName = `${config.contentQueueName}-poison`;
const onLog = (level: string, message: string) => {
  if (level === 'warning' || level === 'error') console.error(`[${new Date().toISOString()}] ${level} ${message}`);
};

/** The content id of a queue message, for the parent's bookkeeping only. */
function contentIdOf(message: unknown): string {
  return typeof message === 'object' && message !== null && typeof (message as { contentId?: unknown }).contentId === 'string' ? (message as { contentId: string }).contentId : '?';
}

const ingest = createQueueWorker({
  queue: wiring.storage.queue(config.contentQueueName),
  poisonQueue: wiring.storage.queue(poisonName),
  functionName: 'ingestContent',
  handler: async (message, context) => {
    const contentId = contentIdOf(message);
    notify({ notice: 'start', contentId });
    try {
      await handleIngestContentMessage(message, context, wiring);
      notify({ notice: 'end', contentId, ok: true });
    } catch (err) {
      notify({ notice: 'end', contentId, ok: false });
      throw err;
    }
  },
  visibilityTimeoutInSeconds,
  leaseInSeconds,
  pollIntervalInMs: 250,
  onLog,
});
const poisonOfPoison = wiring.storage.queue(`${poisonName}-2`);
const poisoned = createQueueWorker({
  queue: wiring.storage.queue(poisonName),
  poisonQueue: poisonOfPoison,
  functionName: 'onPoison',
  handler: (message, context) => handleOnPoisonMessage(message, context, wiring),
  visibilityTimeoutInSeconds,
  leaseInSeconds,
  pollIntervalInMs: 1000,
  onLog,
});

await wiring.ensureResources();
await poisonOfPoison.createIfNotExists();
ingest.start();
poisoned.start();
notify({ notice: 'ready' });

// Without the soak run there is nothing to report to; never linger as an orphan.
process.once('disconnect', () => process.exit(1));
process.once('SIGTERM', () => {
  void Promise.all([ingest.stop(), poisoned.stop()])
    .then(() => wiring.close())
    .finally(() => process.exit(0));
});
