import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { CLOUDS } from '../../core/clouds.js';
import { MAX_TOKEN_RESPONSE_BYTES } from '../http/responseBody.js';
import { boundedHttpClient, ResponseTooLargeError } from '../http/sdkResponseBody.js';

/** The secret material a tenant's credential is built from (never logged). */
export type CredentialMaterial =
  | { readonly type: 'secret'; readonly clientSecret: string }
  | { readonly type: 'certificate'; readonly certificatePem: string; readonly certificatePassword?: string }
  | { readonly type: 'managedIdentity'; readonly clientId?: string };

export interface TenantIdentity {
  readonly tenantId: string;
  readonly clientId?: string;
  readonly authorityHost: string;
}

const KNOWN_AUTHORITIES = new Set(Object.values(CLOUDS).map((c) => c.authorityHost));

/**
 * Builds an @azure/identity credential for one tenant against the tenant's cloud authority. A fresh
 * instance has a fresh MSAL cache, which is how a forced token refresh and a rotated secret take effect.
 */
export function createTenantCredential(identity: TenantIdentity, material: CredentialMaterial): TokenCredential {
  // Token responses (and the authority's metadata) are read with a size limit.
  let refused: ResponseTooLargeError | undefined;
  const httpClient = boundedHttpClient(MAX_TOKEN_RESPONSE_BYTES, { onRefused: (error) => (refused = error) });
  return withRefusalReason(build(identity, material, httpClient), () => {
    const last = refused;
    refused = undefined;
    return last;
  });
}

/**
 * `credential`, except that a token request failing because a response was too large fails with that
 * reason ({@link ResponseTooLargeError}) instead of MSAL's bare `network_error`.
 */
function withRefusalReason(credential: TokenCredential, takeRefusal: () => ResponseTooLargeError | undefined): TokenCredential {
  return {
    async getToken(scopes, options) {
      takeRefusal();
      try {
        return await credential.getToken(scopes, options);
      } catch (err) {
        throw takeRefusal() ?? err;
      }
    },
  };
}

function build(identity: TenantIdentity, material: CredentialMaterial, httpClient: HttpClient): TokenCredential {
  if (material.type === 'managedIdentity') {
    return material.clientId ? new ManagedIdentityCredential({ clientId: material.clientId, httpClient }) : new ManagedIdentityCredential({ httpClient });
  }
  if (!identity.clientId) throw new RangeError(`tenant ${identity.tenantId}: a ${material.type} credential needs a clientId`);
  const options = {
    httpClient,
    authorityHost: identity.authorityHost,
    // Instance discovery asks login.microsoftonline.com about the authority; an overridden authority
    // (the simulated tenant, a proxy) is trusted as configured instead.
    disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(identity.authorityHost),
  };
  if (material.type === 'secret') {
    return new ClientSecretCredential(identity.tenantId, identity.clientId, material.clientSecret, options);
  }
  return new ClientCertificateCredential(
    identity.tenantId,
    identity.clientId,
    { certificate: material.certificatePem, certificatePassword: material.certificatePassword },
    options,
  );
}

/** The URL an administrator of `tenantId` opens to consent to the application (Entra admin consent endpoint). */
export function adminConsentUrl(identity: TenantIdentity): string {
  return `${identity.authorityHost}/${identity.tenantId}/adminconsent?client_id=${identity.clientId ?? '<client-id>'}`;
}
