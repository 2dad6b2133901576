import type { QueueClient } from '@azure/storage-queue';
import { mapLimit } from '../../core/concurrency.js';
import { serializeContentMessage, type ContentMessage } from '../../core/contentMessage.js';
import type { CallOptions, ContentQueue } from '../../ports.js';
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

  async enqueue(messages: readonly ContentMessage[], options: CallOptions = {}): Promise<void> {
    await mapLimit(messages, this.concurrency, async (message) => {
      try {
        await this.queue.sendMessage(encodeQueueMessage(serializeContentMessage(message)), { abortSignal: options.abortSignal, messageTimeToLive: -1 });
      } catch (err) {
        throw storageError(`enqueue ${message.contentId}`, err);
      }
    });
  }
}

export function encodeQueueMessage(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
