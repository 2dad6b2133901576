import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import { TransientError } from '../../core/errors.js';
import { tlsTrustFailure, tlsTrustMessage } from '../http/request.js';
import type { StorageConfig } from '../../config.js';

/** Table names (docs/architecture.md, "State"; the Bicep creates the same). */
export const TABLES = { ledger: 'ledger', cursors: 'cursors', health: 'health', listings: 'listings', gaps: 'gaps', sweeps: 'sweeps', summaries: 'summaries', budgets: 'budgets' } as const;
export const CONTAINERS = { quarantine: 'quarantine', claimCheck: 'claim-check' } as const;

/**
 * Builds Storage clients from the app's storage settings: a connection string (Azurite, local runs)
 * or an identity-based account (`AzureWebJobsStorage__accountName`) with the app's managed identity.
 */
export class StorageClients {
  constructor(
    private readonly config: StorageConfig,
    private readonly credential?: TokenCredential,
  ) {}

  table(name: string): TableClient {
    const { connectionString } = this.config;
    if (connectionString) {
      // data-tables refuses http unless told; Azurite speaks http.
      return TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: /DefaultEndpointsProtocol=http;|UseDevelopmentStorage=true|TableEndpoint=http:/i.test(connectionString) });
    }
    return new TableClient(this.config.tableServiceUri ?? `https://${this.config.accountName}.table.core.windows.net`, name, this.requireCredential());
  }

  queue(name: string): QueueClient {
    if (this.config.connectionString) return QueueServiceClient.fromConnectionString(this.config.connectionString).getQueueClient(name);
    return new QueueServiceClient(this.config.queueServiceUri ?? `https://${this.config.accountName}.queue.core.windows.net`, this.requireCredential()).getQueueClient(name);
  }

  blobService(): BlobServiceClient {
    if (this.config.connectionString) return BlobServiceClient.fromConnectionString(this.config.connectionString);
    return new BlobServiceClient(this.config.blobServiceUri ?? `https://${this.config.accountName}.blob.core.windows.net`, this.requireCredential());
  }

  private requireCredential(): TokenCredential {
    if (!this.credential) throw new RangeError('identity-based storage needs a credential');
    return this.credential;
  }
}

/** HTTP status of a Storage SDK error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  const status = err && typeof err === 'object' ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

/** Storage failures are transient for the pipeline: the platform retries; nothing moves forward meanwhile. */
export function storageError(operation: string, err: unknown): TransientError {
  const status = statusOf(err);
  const { code, detail } = storageDetail(err);
  const missing = code && /^(TableNotFound|QueueNotFound|ContainerNotFound|ResourceNotFound)$/.test(code);
  if (missing) {
    const what = code === 'TableNotFound' ? 'table' : code === 'QueueNotFound' ? 'queue' : code === 'ContainerNotFound' ? 'container' : 'resource';
    return new TransientError(
      'ServiceUnavailable',
      `${operation} failed: the ${what} does not exist in this storage account (${code}). Check that AzureWebJobsStorage (or AzureWebJobsStorage__accountName) ` +
        `names the deployment's account; the Bicep creates the ${what}s, and a local Azurite gets them from npm run local`,
      { httpStatus: status, cause: err },
    );
  }
  const tls = tlsTrustFailure(err);
  if (tls) return new TransientError('TlsUntrusted', `${operation} failed: ${tlsTrustMessage(tls, (err as { request?: { url?: string } })?.request?.url)}`, { cause: err });
  return new TransientError('ServiceUnavailable', `${operation} failed${status ? ` (HTTP ${status}${code ? ` ${code}` : ''})` : ''}: ${detail}`, { httpStatus: status, cause: err });
}

/** The error code and a one-line message of a Storage SDK error; Table storage puts OData JSON in `message`. */
function storageDetail(err: unknown): { code?: string; detail: string } {
  let code = (err as { code?: unknown })?.code;
  let detail = err instanceof Error ? err.message : String(err);
  if (detail.trimStart().startsWith('{')) {
    try {
      const odata = (JSON.parse(detail) as { 'odata.error'?: { code?: string; message?: { value?: string } } })['odata.error'];
      if (odata?.code && typeof code !== 'string') code = odata.code;
      detail = odata?.message?.value ?? odata?.code ?? detail;
    } catch {
      /* not JSON after all */
    }
  }
  return { code: typeof code === 'string' ? code : undefined, detail: detail.split('\n')[0]! };
}
