import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { PermanentError, TransientError } from '../../core/errors.js';
import type { SecretProvider } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import { MAX_TOKEN_RESPONSE_BYTES } from '../http/responseBody.js';
import { boundedHttpClient, ResponseTooLargeError } from '../http/sdkResponseBody.js';

/** Local mode: secrets captured from the environment by loadConfig (no Key Vault). */
export class EnvSecretProvider implements SecretProvider {
  constructor(private readonly values: ReadonlyMap<string, string>) {}

  async get(name: string): Promise<string> {
    const value = this.values.get(name);
    if (value === undefined) throw new PermanentError('CredentialRejected', `secret ${name} is not set in the environment (local mode)`);
    return value;
  }
}

export interface KeyVaultSecretProviderOptions {
  readonly vaultUrl: string;
  readonly credential: TokenCredential;
  /** How long a value is served from memory. Default 15 minutes; a rejected credential forces a re-read. */
  readonly ttlInMs?: number;
  readonly now?: () => number;
}

/**
 * Secrets from Key Vault, cached with a TTL so a rotated secret is picked up without a restart. An
 * unreachable vault is transient (the stream's health shows it); a missing secret is permanent.
 */
export class KeyVaultSecretProvider implements SecretProvider {
  private readonly client: SecretClient;
  private readonly cache = new Map<string, { value: string; readAt: number }>();
  /** Reads in flight, so concurrent cold reads of one secret make one request. */
  private readonly reading = new Map<string, Promise<string>>();
  private readonly ttlInMs: number;
  private readonly now: () => number;

  constructor(options: KeyVaultSecretProviderOptions) {
    const host = new URL(options.vaultUrl).hostname;
    this.client = new SecretClient(options.vaultUrl, options.credential, {
      // The challenge check compares the vault host with the resource; only real vault hosts pass it.
      disableChallengeResourceVerification: !/\.vault\.(azure\.net|usgovcloudapi\.net|azure\.cn)$/.test(host),
      retryOptions: { maxRetries: 2 },
      // A secret is a few KiB at most, like a token response.
      httpClient: boundedHttpClient(MAX_TOKEN_RESPONSE_BYTES),
    });
    this.ttlInMs = options.ttlInMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
  }

  async get(name: string, options: { refresh?: boolean } & CallOptions = {}): Promise<string> {
    const cached = this.cache.get(name);
    if (!options.refresh && cached && this.now() - cached.readAt < this.ttlInMs) return cached.value;
    let reading = this.reading.get(name);
    if (!reading) {
      reading = this.read(name, options.abortSignal).finally(() => this.reading.delete(name));
      this.reading.set(name, reading);
    }
    return reading;
  }

  private async read(name: string, abortSignal?: AbortSignal): Promise<string> {
    try {
      const secret = await this.client.getSecret(name, { abortSignal });
      if (secret.value === undefined) throw new PermanentError('CredentialRejected', `Key Vault secret ${name} has no value`);
      this.cache.set(name, { value: secret.value, readAt: this.now() });
      return secret.value;
    } catch (err) {
      if (err instanceof PermanentError) throw err;
      const refused = tooLarge(err);
      if (refused) throw new TransientError('SecretUnavailable', `Key Vault ${this.client.vaultUrl}: ${refused.message}`, { cause: err });
      const status = (err as { statusCode?: number }).statusCode;
      const code = innerCode(err);
      if (code === 'SecretDisabled') throw new PermanentError('CredentialRejected', `Key Vault secret ${name} is disabled in ${this.client.vaultUrl}; enable it or point the tenant at another secret`, { httpStatus: status, cause: err });
      if (status === 401) throw new PermanentError('PermissionMissing', `Key Vault ${this.client.vaultUrl} refused the app's token (HTTP 401): the identity's token is for another tenant or audience`, { httpStatus: 401, cause: err });
      if (status === 404) throw new PermanentError('CredentialRejected', `Key Vault secret ${name} does not exist in ${this.client.vaultUrl}`, { httpStatus: 404, cause: err });
      if (status === 403) throw new PermanentError('PermissionMissing', `the app's identity may not read secret ${name} (grant Key Vault Secrets User on ${this.client.vaultUrl})`, { httpStatus: 403, cause: err });
      throw new TransientError('SecretUnavailable', `Key Vault ${this.client.vaultUrl} is unreachable or failing (${status ? `HTTP ${status}` : (err as Error).name})`, { httpStatus: status, cause: err });
    }
  }
}

/** The {@link ResponseTooLargeError} in an SDK error's cause chain, if a too-large answer is what failed. */
function tooLarge(err: unknown): ResponseTooLargeError | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    if (e instanceof ResponseTooLargeError) return e;
    seen.add(e);
  }
  return undefined;
}

/** The most specific error code Key Vault gave (`SecretDisabled`, `ForbiddenByRbac`, ...). */
function innerCode(err: unknown): string | undefined {
  const details = (err as { details?: { error?: { code?: string; innerError?: { code?: string } } } }).details;
  return details?.error?.innerError?.code ?? details?.error?.code ?? (err as { code?: string }).code;
}
