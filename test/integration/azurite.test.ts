import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';

describe('Azurite started by the global setup', () => {
  const conn = inject('azuriteConnectionString');

  it('round-trips a queue message and a table entity over the real SDKs', async () => {
    const queue = QueueServiceClient.fromConnectionString(conn).getQueueClient('harness-smoke');
    await queue.createIfNotExists();
    await queue.sendMessage('aGVsbG8=');
    const received = await queue.receiveMessages({ numberOfMessages: 1 });
    expect(received.receivedMessageItems[0]?.messageText).toBe('aGVsbG8=');

    const table = TableClient.fromConnectionString(conn, 'harnessSmoke', { allowInsecureConnection: true });
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'r', value: 42 });
    const entity = await table.getEntity<{ value: number }>('p', 'r');
    expect(entity.value).toBe(42);
  });
});
