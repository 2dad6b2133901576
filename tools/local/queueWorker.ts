import { randomUUID } from 'node:crypto';
import functions, { type InvocationContext as Context } from '@azure/functions';

// @azure/functions is CommonJS; Node's ESM loader cannot see this export by name (tsx, plain node).
const { InvocationContext } = functions;
import type { QueueClient } from '@azure/storage-queue';

/**
 * Runs a queue-triggered handler against a real Storage queue with the Functions host's semantics
 * (the host itself cannot run offline): base64-decoded messages, JSON parsed when it parses, a
 * visibility timeout on failure, `dequeueCount` in the trigger metadata, and after `maxDequeueCount`
 * failed attempts the message moves to `<queue>-poison`. Used by `npm run local` and the end-to-end tests.
 */
export interface QueueWorkerOptions {
  readonly queue: QueueClient;
  readonly poisonQueue: QueueClient;
  readonly functionName: string;
  /** What it resolves to is ignored, as the host ignores it without an output binding. */
  readonly handler: (message: unknown, context: Context) => Promise<unknown>;
  /** host.json extensions.queues.maxDequeueCount (5). */
  readonly maxDequeueCount?: number;
  /** host.json visibilityTimeout between attempts; tests shorten it. */
  readonly visibilityTimeoutInSeconds?: number;
  /** Messages processed at once (host.json batchSize). */
  readonly batchSize?: number;
  readonly pollIntervalInMs?: number;
  /** How long a message stays invisible while its handler runs. */
  readonly leaseInSeconds?: number;
  readonly onLog?: (level: string, message: string) => void;
}

export interface QueueWorker {
  /** Processes messages until the queue has been empty for one poll; resolves with the number handled. */
  drain(): Promise<number>;
  /**
   * Like `drain`, but also waits for messages that are invisible for now (retries re-enqueued with a delay),
   * until the queue holds none at all or `timeoutInMs` passes (then it rejects).
   */
  settle(timeoutInMs?: number): Promise<number>;
  /** Starts polling in the background. */
  start(): void;
  stop(): Promise<void>;
  readonly stats: { processed: number; failed: number; poisoned: number };
}

export function createQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const maxDequeueCount = options.maxDequeueCount ?? 5;
  const visibility = options.visibilityTimeoutInSeconds ?? 30;
  const batchSize = options.batchSize ?? 8;
  const stats = { processed: 0, failed: 0, poisoned: 0 };
  let running = false;
  let loop: Promise<void> | undefined;

  const handleOne = async (item: { messageId: string; popReceipt: string; messageText: string; dequeueCount: number; insertedOn: Date; expiresOn: Date; nextVisibleOn: Date }) => {
    const text = Buffer.from(item.messageText, 'base64').toString('utf8');
    let payload: unknown = text;
    try {
      payload = JSON.parse(text);
    } catch {
      // the host passes non-JSON messages as strings
    }
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: options.functionName,
      triggerMetadata: {
        id: item.messageId,
        dequeueCount: item.dequeueCount,
        popReceipt: item.popReceipt,
        insertionTime: item.insertedOn.toISOString(),
        expirationTime: item.expiresOn.toISOString(),
        nextVisibleTime: item.nextVisibleOn.toISOString(),
        queueTrigger: text,
      },
      logHandler: (level, ...args) => options.onLog?.(level, args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
    });
    try {
      await options.handler(payload, context);
      await options.queue.deleteMessage(item.messageId, item.popReceipt);
      stats.processed++;
    } catch (err) {
      stats.failed++;
      options.onLog?.('warning', `${options.functionName} failed (attempt ${item.dequeueCount}): ${err instanceof Error ? err.message : String(err)}`);
      if (item.dequeueCount >= maxDequeueCount) {
        await options.poisonQueue.sendMessage(item.messageText);
        await options.queue.deleteMessage(item.messageId, item.popReceipt);
        stats.poisoned++;
      } else {
        await options.queue.updateMessage(item.messageId, item.popReceipt, undefined, visibility);
      }
    }
  };

  const pollOnce = async (): Promise<number> => {
    const { receivedMessageItems } = await options.queue.receiveMessages({ numberOfMessages: batchSize, visibilityTimeout: options.leaseInSeconds ?? 300 });
    await Promise.all(receivedMessageItems.map(handleOne));
    return receivedMessageItems.length;
  };

  return {
    stats,
    async drain() {
      let total = 0;
      for (;;) {
        const n = await pollOnce();
        total += n;
        if (n === 0) return total;
      }
    },
    async settle(timeoutInMs = 60_000) {
      const deadline = Date.now() + timeoutInMs;
      let total = 0;
      for (;;) {
        const n = await pollOnce();
        total += n;
        if (n > 0) continue;
        const { approximateMessagesCount } = await options.queue.getProperties();
        if (!approximateMessagesCount) return total;
        if (Date.now() > deadline) throw new Error(`${options.functionName}: ${approximateMessagesCount} messages still queued after ${timeoutInMs} ms`);
        await new Promise((r) => setTimeout(r, options.pollIntervalInMs ?? 250));
      }
    },
    start() {
      running = true;
      loop = (async () => {
        while (running) {
          const n = await pollOnce().catch((err: unknown) => {
            options.onLog?.('error', `queue poll failed: ${err instanceof Error ? err.message : String(err)}`);
            return 0;
          });
          if (n === 0 && running) await new Promise((r) => setTimeout(r, options.pollIntervalInMs ?? 500));
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
