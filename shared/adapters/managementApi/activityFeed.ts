import type { StreamKey, TimeWindow } from '../../core/model.js';
import type { ActivityFeed } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import type { ManagementActivityClient } from './client.js';

/** The ActivityFeed port over one Management API client per tenant. */
export class ManagementApiFeed implements ActivityFeed {
  constructor(private readonly clientFor: (tenantId: string) => ManagementActivityClient) {}

  async startSubscription(stream: StreamKey, options?: CallOptions): Promise<{ alreadyEnabled: boolean }> {
    const { alreadyEnabled } = await this.clientFor(stream.tenantId).startSubscription(stream.contentType, options);
    return { alreadyEnabled };
  }

  listContent(stream: StreamKey, window: TimeWindow, options?: CallOptions) {
    return this.clientFor(stream.tenantId).listContent(stream.contentType, window, options);
  }
}
