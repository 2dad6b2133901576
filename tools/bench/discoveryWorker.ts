/**
 * A measured discovery process of `npm run bench` (the many-tenants cycle): it builds the real wiring
 * from the environment, as a Functions worker does, and runs the real function handlers: the pollContent
 * timer (one poll task per stream onto the poll-task queue) and the pollStream queue trigger, the latter
 * as a queue worker with the host's semantics. Several of these processes side by side play several
 * function instances draining one queue.
 */
import { performance } from 'node:perf_hooks';
import functions from '@azure/functions';
import { handlePollContentTimer } from '../../functions/pollContent.js';
import { handlePollStreamMessage } from '../../functions/pollStream.js';
import { loadConfig } from '../../shared/config.js';
import { silentLogger } from '../../shared/ports.js';
import { createWiring } from '../../shared/wiring.js';
import { createQueueWorker } from '../local/queueWorker.js';
import { serveCommands } from '../common/ipc.js';

// @azure/functions is CommonJS; Node's ESM loader cannot see this export by name.
const { InvocationContext } = functions;

const config = loadConfig(process.env);
const wiring = createWiring(config, { logger: silentLogger });
const context = (functionName: string) => new InvocationContext({ functionName, invocationId: `bench-${Date.now()}`, logHandler: () => undefined });
const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

serveCommands({
  async setup() {
    await wiring.ensureResources();
    for (const name of [config.pollQueueName, config.contentQueueName]) await wiring.storage.queue(name).clearMessages();
  },

  /** The timer: one poll task per stream. */
  async timer() {
    const started = performance.now();
    await handlePollContentTimer(timer, context('pollContent'), wiring);
    return { ms: performance.now() - started };
  },

  /** Runs poll tasks until the queue is empty, `batchSize` at a time, as one function instance would. */
  async drain({ batchSize }: { batchSize: number }) {
    const worker = createQueueWorker({
      queue: wiring.storage.queue(config.pollQueueName),
      poisonQueue: wiring.storage.queue(`${config.pollQueueName}-poison`),
      functionName: 'pollStream',
      handler: async (message, c) => {
        const began = performance.now();
        await handlePollStreamMessage(message, c, wiring);
        taskMs.push(performance.now() - began);
      },
      batchSize,
    });
    const taskMs: number[] = [];
    const started = performance.now();
    const processed = await worker.drain();
    taskMs.sort((a, b) => a - b);
    const at = (q: number) => taskMs[Math.min(taskMs.length - 1, Math.floor(q * taskMs.length))] ?? 0;
    return { ms: performance.now() - started, processed, failed: worker.stats.failed, taskMs: { p50: at(0.5), p95: at(0.95), max: at(1) } };
  },

  /** How many streams completed a poll since `since`, and how many failed. */
  async verify({ since }: { since: number }) {
    let complete = 0;
    let failing = 0;
    const codes: Record<string, number> = {};
    for (const stream of wiring.streams) {
      const state = (await wiring.cursors.read(stream))?.state;
      if (state?.lastSuccessAt && Date.parse(state.lastSuccessAt) >= since) complete++;
      if (state?.lastErrorCode) {
        failing++;
        codes[state.lastErrorCode] = (codes[state.lastErrorCode] ?? 0) + 1;
      }
    }
    const content = await wiring.storage.queue(config.contentQueueName).getProperties();
    return { streams: wiring.streams.length, complete, failing, codes, contentMessages: content.approximateMessagesCount ?? 0 };
  },

  async close() {
    await wiring.close();
  },
});
