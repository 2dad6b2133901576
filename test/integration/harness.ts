import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import { handlePollStreamMessage } from '../../functions/pollStream.js';
import { inject } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import type { ContentMessage } from '../../shared/core/contentMessage.js';
import { HOUR_MS, MINUTE_MS } from '../../shared/core/windows.js';
import { silentLogger, type Logger } from '../../shared/ports.js';
import { DEFAULT_SECURITY_OVERLAP_MS, pollSecurity } from '../../shared/usecases/pollSecurity.js';
import { pollStreams } from '../../shared/usecases/pollStreams.js';
import { sweepStreams } from '../../shared/usecases/sweepStreams.js';
import { createWiring, type Wiring } from '../../shared/wiring.js';
import { startSimTenant, type SimTenant, type SimTenantOptions, type SimTenantSpec } from '../../tools/standins/simTenant/index.js';
import { ManualClock, RecordingLogger } from '../fakes/ports.js';

// @azure/functions is CommonJS; Node's ESM loader cannot see this export by name.
const { InvocationContext } = functions;

/** A fixed feed clock for pipeline tests: 2026-11-20T12:00:00Z. */
export const T0 = Date.UTC(2026, 10, 20, 12);
export const APP_ID = '5a5a5a5a-1b1b-4c2c-8d3d-4e4e4e4e4e4e';
export const APP_SECRET = 'harness-app-secret';

/** A fresh tenant id per test keeps ledger partitions and cursor rows apart on the shared Azurite. */
export function newTenantId(): string {
  return randomUUID();
}

export interface HarnessOptions {
  /** Simulated tenants; `defenderXdr` also enables the tenant's Defender XDR streams in the configuration. */
  readonly tenants: readonly (Partial<SimTenantSpec> & { tenantId: string; defenderXdr?: boolean })[];
  readonly sim?: Partial<Omit<SimTenantOptions, 'tenants' | 'now'>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly logger?: Logger;
}

/**
 * The real pipeline parts wired from a real configuration against the stand-ins: the simulated tenant
 * (Management API + Entra), Azurite (tables, queues, blobs) and, when given, an Event Hubs connection.
 * One manual clock drives both the feed and the pipeline.
 */
export async function startHarness(options: HarnessOptions) {
  const clock = new ManualClock(T0);
  const sim = await startSimTenant({
    now: () => clock.now(),
    ...options.sim,
    tenants: options.tenants.map(({ defenderXdr: _defenderXdr, ...t }) => ({ apps: [{ clientId: APP_ID, secret: APP_SECRET }], historyStart: T0 - 9 * 24 * HOUR_MS, ...t })),
  });
  const queueName = `content-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    O365_TENANTS: JSON.stringify(options.tenants.map((t) => ({ tenantId: t.tenantId, clientId: APP_ID, defenderXdr: t.defenderXdr, credential: { type: 'secret', secretName: 'SIM_APP_SECRET' } }))),
    SIM_APP_SECRET: APP_SECRET,
    O365_MANAGEMENT_ENDPOINT: sim.url,
    O365_AUTHORITY_HOST: sim.url,
    GRAPH_ENDPOINT: sim.url,
    AzureWebJobsStorage: inject('azuriteConnectionString'),
    EVENTHUB_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=unused;SharedAccessKey=unused;UseDevelopmentEmulator=true',
    EVENTHUB_NAME: 'unused',
    CONTENT_QUEUE_NAME: queueName,
    POLL_QUEUE_NAME: `poll-${randomUUID().slice(0, 8)}`,
    // Delivery retries come back after a second or two of real time (the queue's visibility delay).
    RETRY_INITIAL_SECONDS: '1',
    RETRY_MAX_SECONDS: '2',
    ...options.env,
  });
  const logger = options.logger ?? new RecordingLogger();
  const fast = { managementRetry: { baseDelayInMs: 5, maxDelayInMs: 20 }, graphRetry: { baseDelayInMs: 5, maxDelayInMs: 20 }, eventHubRetry: { maxRetries: 2, retryDelayInMs: 20, maxRetryDelayInMs: 100, timeoutInMs: 2000 } };
  const wiring = createWiring(config, { clock, logger: silentLogger, ...fast });
  await wiring.ensureResources();

  /** The discovery windows of `config.poll` for one run, which stops starting work 8 minutes from now. */
  const discoveryWindows = () => ({
    settleLagInMs: config.poll.settleLagMinutes * MINUTE_MS,
    overlapInMs: config.poll.overlapMinutes * MINUTE_MS,
    concurrency: 4,
    deadlineAtMs: clock.now() + 8 * MINUTE_MS,
  });

  const harness = {
    sim,
    clock,
    config,
    wiring,
    logger,
    /** Another worker's wiring over the same storage (for concurrency tests). */
    secondWiring: (): Wiring => createWiring(config, { clock, logger: silentLogger, ...fast }),
    poll: (w: Wiring = wiring) =>
      pollStreams(
        w.streams,
        { feed: w.feed, ledger: w.ledger, queue: w.queue, cursors: w.cursors, listings: w.listings, gaps: w.gaps, sink: w.sink, blobs: w.blobs, clock, logger, metrics: { count() {} } },
        { ...discoveryWindows(), initialLookbackInMs: config.poll.initialLookbackHours * HOUR_MS },
      ),
    /** One retention sweep of every audit stream, as a sweep task runs it. */
    sweep: (w: Wiring = wiring) =>
      sweepStreams(
        w.streams,
        { feed: w.sweepFeed, cursors: w.cursors, ledger: w.ledger, queue: w.queue, listings: w.listings, sweeps: w.sweeps, sink: w.sink, blobs: w.blobs, clock, logger, metrics: { count() {} } },
        discoveryWindows(),
      ),
    /** One pollSecurity run over every Defender XDR stream, as the timer function runs it. */
    pollSecurity: (w: Wiring = wiring) =>
      pollSecurity(
        w.securityStreams,
        { feed: w.securityFeed, cursors: w.cursors, ledger: w.ledger, sink: w.sink, blobs: w.blobs, clock, logger, metrics: { count() {} } },
        {
          overlapInMs: DEFAULT_SECURITY_OVERLAP_MS,
          initialLookbackInMs: config.poll.initialLookbackHours * HOUR_MS,
          maxEventBytes: config.ingest.maxEventBytes,
          partitionKeyMode: config.ingest.partitionKeyMode,
          concurrency: 4,
          deadlineAtMs: clock.now() + 8 * MINUTE_MS,
        },
      ),
    /**
     * Runs every visible task on the poll-task queue through the `pollStream` function, as the Functions host
     * would (tasks the timers enqueued); returns how many ran.
     */
    async runPollTasks(w: Wiring = wiring): Promise<number> {
      const queue = w.storage.queue(config.pollQueueName);
      const context = new InvocationContext({ functionName: 'pollStream', invocationId: 'harness', logHandler: () => undefined });
      let ran = 0;
      for (;;) {
        const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 600 });
        if (receivedMessageItems.length === 0) return ran;
        await Promise.all(
          receivedMessageItems.map(async (item) => {
            await handlePollStreamMessage(JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')), context, w);
            await queue.deleteMessage(item.messageId, item.popReceipt);
            ran++;
          }),
        );
      }
    },
    /** Removes and returns every message on the content queue. */
    async drainQueue(): Promise<ContentMessage[]> {
      const queue = wiring.storage.queue(config.contentQueueName);
      const messages: ContentMessage[] = [];
      for (;;) {
        const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
        if (receivedMessageItems.length === 0) return messages;
        for (const item of receivedMessageItems) {
          messages.push(JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as ContentMessage);
          await queue.deleteMessage(item.messageId, item.popReceipt);
        }
      }
    },
    async close() {
      await wiring.close();
      await sim.close();
    },
  };
  return harness;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Content ids the simulated tenant lists for a stream with contentCreated in [from, to), as of the feed clock. */
export function listedIds(sim: SimTenant, tenantId: string, contentType: Parameters<SimTenant['blobs']>[1], from: number, to: number): string[] {
  return sim.blobs(tenantId, contentType, from, to).map((b) => b.contentId).sort();
}
