import type { TokenCredential } from '@azure/identity';
import { IngestError, PermanentError, TransientError } from '../../core/errors.js';
import { tlsTrustFailure, tlsTrustMessage } from '../http/request.js';
import { ResponseTooLargeError } from '../http/sdkResponseBody.js';
import { probeTlsTrust } from '../http/tlsProbe.js';
import { adminConsentUrl, type TenantIdentity } from './credentials.js';

/** Bearer tokens for one tenant's management API. */
export interface AccessTokenSource {
  /** A valid access token; `forceRefresh` discards the cached one (after a 401). */
  getToken(options?: { forceRefresh?: boolean; abortSignal?: AbortSignal }): Promise<string>;
}

export interface CredentialTokenSourceOptions {
  readonly identity: TenantIdentity;
  /** e.g. `https://manage.office.com/.default` */
  readonly scope: string;
  /**
   * Builds a credential. Called again on a forced refresh and once after the credential is rejected
   * (`invalid_client`), so an implementation that re-reads the secret picks up a rotation.
   */
  readonly createCredential: (options: { reloadSecret: boolean }) => Promise<TokenCredential>;
  readonly now?: () => number;
}

// Refresh a little early so a token never expires between getToken and the request.
const EARLY_REFRESH_MS = 5 * 60_000;

/**
 * Caches the tenant's token until shortly before expiry and translates identity failures into
 * errors that name the tenant and say the fix (e.g. the admin-consent URL for AADSTS700016).
 */
export class CredentialTokenSource implements AccessTokenSource {
  private credential?: Promise<TokenCredential>;
  private cached?: { token: string; expiresAt: number };
  private readonly now: () => number;

  constructor(private readonly options: CredentialTokenSourceOptions) {
    this.now = options.now ?? Date.now;
  }

  async getToken(options: { forceRefresh?: boolean; abortSignal?: AbortSignal } = {}): Promise<string> {
    if (!options.forceRefresh && this.cached && this.cached.expiresAt - EARLY_REFRESH_MS > this.now()) return this.cached.token;
    if (options.forceRefresh) this.credential = undefined;
    try {
      return await this.fetchToken(false, options.abortSignal);
    } catch (err) {
      if (err instanceof PermanentError && err.code === 'CredentialRejected') {
        // The secret may have been rotated since it was read: read it again, once.
        this.credential = undefined;
        return this.fetchToken(true, options.abortSignal);
      }
      throw err;
    }
  }

  private async fetchToken(reloadSecret: boolean, abortSignal?: AbortSignal): Promise<string> {
    this.cached = undefined;
    try {
      this.credential ??= this.options.createCredential({ reloadSecret });
      const credential = await this.credential;
      const token = await credential.getToken(this.options.scope, { abortSignal });
      if (!token) throw new Error('the credential returned no token');
      this.cached = { token: token.token, expiresAt: token.expiresOnTimestamp };
      return token.token;
    } catch (err) {
      this.credential = undefined;
      // MSAL reports an authority it could not reach without the cause; find out whether TLS trust was it.
      const hidden = !tlsTrustFailure(err) && /endpoints_resolution_error|network_error|ECONNRESET|fetch failed/i.test(err instanceof Error ? err.message : String(err));
      const tls = hidden ? await probeTlsTrust(this.options.identity.authorityHost) : undefined;
      throw translateIdentityError(err, this.options.identity, tls);
    }
  }
}

/** Maps @azure/identity / MSAL failures to the taxonomy; messages carry AADSTS codes, never secrets. */
export function translateIdentityError(err: unknown, identity: TenantIdentity, tlsFailure?: string): IngestError {
  const tenant = `tenant ${identity.tenantId}`;
  if (err instanceof ResponseTooLargeError) return new TransientError('Unauthorized', `${tenant}: could not obtain an access token: ${err.message}`, { tenantId: identity.tenantId, cause: err });
  if (err instanceof IngestError) return err;
  const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  const aadsts = /AADSTS(\d+)/.exec(text)?.[0];
  const details = { tenantId: identity.tenantId, cause: err };
  if (aadsts === 'AADSTS700016') {
    return new PermanentError(
      'AppNotConsented',
      `${tenant}: application ${identity.clientId ?? '(none)'} is not registered or not consented in this tenant (AADSTS700016). ` +
        `An administrator of the tenant must grant consent: ${adminConsentUrl(identity)}`,
      details,
    );
  }
  if (aadsts === 'AADSTS90002' || aadsts === 'AADSTS90072') {
    return new PermanentError('TenantNotFound', `${tenant}: the directory was not found at ${identity.authorityHost} (${aadsts}); check tenantId and cloud`, details);
  }
  if (aadsts && ['AADSTS7000215', 'AADSTS7000222', 'AADSTS700027', 'AADSTS700024', 'AADSTS50012'].includes(aadsts)) {
    return new PermanentError(
      'CredentialRejected',
      `${tenant}: the credential of application ${identity.clientId ?? '(none)'} was rejected (${aadsts}: invalid or expired secret or certificate); put a valid one in its secret`,
      details,
    );
  }
  if (/invalid_client|unauthorized_client/.test(text)) {
    return new PermanentError('CredentialRejected', `${tenant}: the credential was rejected (${aadsts ?? 'invalid_client'})`, details);
  }
  const tls = tlsFailure ?? tlsTrustFailure(err);
  if (tls) return new TransientError('TlsUntrusted', `${tenant}: could not obtain an access token from ${identity.authorityHost}: ${tlsTrustMessage(tls, identity.authorityHost)}`, details);
  return new TransientError('Unauthorized', `${tenant}: could not obtain an access token (${aadsts ?? (err instanceof Error ? err.name : 'error')})`, details);
}
