import type { ContentSource } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import type { ManagementActivityClient } from './client.js';

/** Content downloads through the tenant's Management API client (which re-checks the URI before sending a token). */
export class ManagementApiContentSource implements ContentSource {
  constructor(private readonly clientFor: (tenantId: string) => ManagementActivityClient) {}

  download(tenantId: string, contentUri: string, options?: CallOptions) {
    return this.clientFor(tenantId).fetchContent(contentUri, options);
  }
}
