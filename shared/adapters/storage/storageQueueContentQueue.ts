import type { QueueClient } from '@azure/storage-queue';
import { mapLimit } from '../../core/concurrency.js';
import { serializeContentMessage, type ContentMessage } from '../../core/contentMessage.js';
import type { ContentQueue } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import { storageError } from './clients.js';

/**
 * The content queue over Azure Storage queues. Messages are base64-encoded, as the Functions queue
 * trigger expects by default (a raw JSON message is silently poisoned after five dequeues).
 */
export class StorageQueueContentQueue implements ContentQueue {
  constructor(
    private readonly queue: QueueClient,
    private readonly concurrency = 16,
  ) {}

  async enqueue(messages: readonly ContentMessage[], options: CallOptions & { visibilityDelayInMs?: number } = {}): Promise<void> {
    // The service takes whole seconds, at most 7 days.
    const delaySeconds = options.visibilityDelayInMs ? Math.min(7 * 86_400, Math.max(1, Math.ceil(options.visibilityDelayInMs / 1000))) : undefined;
    await mapLimit(messages, this.concurrency, async (message) => {
      try {
        await this.queue.sendMessage(encodeQueueMessage(serializeContentMessage(message)), { abortSignal: options.abortSignal, messageTimeToLive: -1, visibilityTimeout: delaySeconds });
      } catch (err) {
        throw storageError(`enqueue ${message.contentId}`, err);
      }
    });
  }

  async approximateDepth(options: CallOptions = {}): Promise<number> {
    try {
      const properties = await this.queue.getProperties({ abortSignal: options.abortSignal });
      return properties.approximateMessagesCount ?? 0;
    } catch (err) {
      throw storageError('queue depth', err);
    }
  }
}

export function encodeQueueMessage(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
