import type { SecurityStreamKey, SecurityStreamName } from '../../core/model.js';
import type { SecurityFeed } from '../../ports.js';
import type { CallOptions, SecurityPage } from '../../core/io.js';
import type { GraphSecurityClient, SecurityCollection } from './client.js';

const COLLECTION_OF: Readonly<Record<SecurityStreamName, SecurityCollection>> = {
  'DefenderXDR.Incidents': 'incidents',
  'DefenderXDR.Alerts': 'alerts',
};

/** The SecurityFeed port over one Graph security client per tenant. */
export class GraphSecurityFeed implements SecurityFeed {
  constructor(private readonly clientFor: (tenantId: string) => GraphSecurityClient) {}

  listUpdated(stream: SecurityStreamKey, since: string, options?: CallOptions): AsyncIterable<SecurityPage> {
    return this.clientFor(stream.tenantId).listUpdatedSince(COLLECTION_OF[stream.contentType], since, options);
  }
}
