import type { TableClient } from '@azure/data-tables';
import type { AnyStreamKey } from '../../core/model.js';
import type { HealthStore } from '../../ports.js';
import type { StreamHealth } from '../../core/accounting.js';
import type { CallOptions } from '../../core/io.js';
import { storageError } from './clients.js';

/** Health rows in Table storage: partition = tenant, row = content type, the health as JSON. */
export class TableHealthStore implements HealthStore {
  constructor(private readonly table: TableClient) {}

  async write(stream: AnyStreamKey, health: StreamHealth, options: CallOptions = {}): Promise<void> {
    try {
      await this.table.upsertEntity(
        { partitionKey: stream.tenantId, rowKey: stream.contentType, state: health.state, computedAt: health.computedAt, health: JSON.stringify(health) },
        'Replace',
        { abortSignal: options.abortSignal },
      );
    } catch (err) {
      throw storageError(`health write ${stream.tenantId}|${stream.contentType}`, err);
    }
  }

  async readAll(options: CallOptions = {}): Promise<StreamHealth[]> {
    const rows: StreamHealth[] = [];
    try {
      for await (const entity of this.table.listEntities<{ health?: string }>({ abortSignal: options.abortSignal })) {
        if (typeof entity.health === 'string') rows.push(JSON.parse(entity.health) as StreamHealth);
      }
    } catch (err) {
      throw storageError('health read', err);
    }
    return rows;
  }
}
