import type { QueueClient } from '@azure/storage-queue';
import type { PollTask } from '../../core/pollTask.js';
import type { PollTaskQueue } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import { storageError } from './clients.js';
import { encodeQueueMessage } from './storageQueueContentQueue.js';

/**
 * The poll-task queue (POLL_QUEUE_NAME) over Azure Storage queues: base64 JSON, as the Functions queue
 * trigger expects; a task lives an hour at most (the next timer firing enqueues a fresh one anyway).
 */
export class StorageQueuePollTaskQueue implements PollTaskQueue {
  constructor(private readonly queue: QueueClient) {}

  async enqueue(task: PollTask, options: CallOptions & { visibilityDelayInMs?: number } = {}): Promise<void> {
    const delaySeconds = options.visibilityDelayInMs ? Math.min(3_000, Math.max(1, Math.ceil(options.visibilityDelayInMs / 1000))) : undefined;
    try {
      await this.queue.sendMessage(encodeQueueMessage(JSON.stringify(task)), { abortSignal: options.abortSignal, messageTimeToLive: 3_600 + (delaySeconds ?? 0), visibilityTimeout: delaySeconds });
    } catch (err) {
      throw storageError(`enqueue poll task ${task.kind} ${task.tenantId}|${task.contentType}`, err);
    }
  }
}
