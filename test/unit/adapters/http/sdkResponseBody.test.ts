import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTenantCredential } from '../../../../shared/adapters/identity/credentials.js';
import { CredentialTokenSource } from '../../../../shared/adapters/identity/tokenSource.js';
import { KeyVaultSecretProvider } from '../../../../shared/adapters/keyVault/secretProviders.js';
import { MAX_TOKEN_RESPONSE_BYTES } from '../../../../shared/adapters/http/responseBody.js';
import { TransientError } from '../../../../shared/core/errors.js';
import { localServerTls } from '../../../../tools/local/localPki.js';
import { startConnectProxy, type ConnectProxy } from '../../../../tools/standins/connectProxy.js';
import { closeLocal, ingestErrorOf, listenLocal } from '../../../fakes/localServer.js';

const MiB = 1024 * 1024;
const HUGE = 200 * MiB;
const tenantId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const clientId = '2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f';

/** How the server answers the call under test: small and whole, or 200 MB streamed (`announced`: with its Content-Length). */
let mode: 'small' | 'huge' | 'announced' = 'huge';
let sent = 0;
let closedEarly = false;
let closed: Promise<void> = Promise.resolve();

/** Streams `head` and then spaces up to 200 MB with backpressure, counting what the socket took. */
function streamHuge(res: ServerResponse, head: string): void {
  let resolve!: () => void;
  closed = new Promise<void>((r) => (resolve = r));
  sent = 0;
  closedEarly = false;
  res.on('close', () => {
    closedEarly = !res.writableFinished;
    resolve();
  });
  res.writeHead(200, { 'content-type': 'application/json', ...(mode === 'announced' ? { 'content-length': String(HUGE) } : {}) });
  const filler = Buffer.alloc(64 * 1024, 0x20);
  res.write(head);
  sent = head.length;
  const pump = (): void => {
    while (sent < HUGE && !res.destroyed) {
      const chunk = filler.subarray(0, Math.min(filler.length, HUGE - sent));
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

let server: Server;
let base = '';

function handle(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const path = new URL(req.url ?? '/', base).pathname;
  if (path === `/${tenantId}/v2.0/.well-known/openid-configuration`) {
    const at = `${base}/${tenantId}`;
    return json(res, 200, {
      token_endpoint: `${at}/oauth2/v2.0/token`, issuer: `${at}/v2.0`, jwks_uri: `${at}/discovery/v2.0/keys`,
      authorization_endpoint: `${at}/oauth2/v2.0/authorize`, end_session_endpoint: `${at}/oauth2/v2.0/logout`,
      response_types_supported: ['code'], subject_types_supported: ['pairwise'], id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (path === `/${tenantId}/oauth2/v2.0/token`) {
    if (mode === 'small') return json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: 'small-token' });
    return streamHuge(res, '{"token_type":"Bearer","access_token":"');
  }
  if (path.startsWith('/secrets/')) {
    if (!req.headers.authorization) {
      return json(res, 401, { error: { code: 'Unauthorized' } }, { 'www-authenticate': `Bearer authorization="${base}/${tenantId}", resource="https://vault.azure.net"` });
    }
    if (mode === 'small') return json(res, 200, { value: 'the-secret', id: `${base}/secrets/name/1`, attributes: { enabled: true } });
    return streamHuge(res, '{"value":"');
  }
  json(res, 404, { error: 'not found' });
}

beforeAll(async () => {
  server = createServer(localServerTls(), handle);
  base = await listenLocal(server, 'https');
});
afterAll(() => closeLocal(server));
beforeEach(() => {
  mode = 'huge';
});

const identity = () => ({ tenantId, clientId, authorityHost: base });
const tokenSource = () =>
  new CredentialTokenSource({ identity: identity(), scope: 'https://manage.office.com/.default', createCredential: async () => createTenantCredential(identity(), { type: 'secret', clientSecret: 'secret' }) });
const vault = () => new KeyVaultSecretProvider({ vaultUrl: base, credential: { getToken: async () => ({ token: 'vault-token', expiresOnTimestamp: Date.now() + 3_600_000 }) } });


async function stoppedEarly(): Promise<void> {
  await closed;
  expect(closedEarly).toBe(true);
  // The limit plus what socket buffers on both sides held when the client let go.
  expect(sent).toBeLessThan(MAX_TOKEN_RESPONSE_BYTES + 32 * MiB);
}

describe('SDK-read response bodies over 64 KiB', () => {
  it.each(['huge', 'announced'] as const)('a 200 MB token response (%s) fails the token request, retryable, and closes the connection', async (how) => {
    mode = how;
    const error = await ingestErrorOf(() => tokenSource().getToken());
    expect(error).toBeInstanceOf(TransientError);
    expect(error.code).toBe('Unauthorized');
    expect(error.message).toContain(`tenant ${tenantId}`);
    expect(error.message).toMatch(/response from https:\/\/127\.0\.0\.1:\d+ is over 64 KiB \(65536 bytes\); it was not read further/);
    await stoppedEarly();
  });

  it.each(['huge', 'announced'] as const)('a 200 MB Key Vault answer (%s) fails the secret read, retryable, and closes the connection', async (how) => {
    mode = how;
    const error = await ingestErrorOf(() => vault().get('name'));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.code).toBe('SecretUnavailable');
    expect(error.message).toMatch(/response from https:\/\/127\.0\.0\.1:\d+ is over 64 KiB \(65536 bytes\); it was not read further/);
    await stoppedEarly();
  });

  it('still reads ordinary token and secret answers whole', async () => {
    mode = 'small';
    expect(await tokenSource().getToken()).toBe('small-token');
    expect(await vault().get('name')).toBe('the-secret');
  });
});

describe('through HTTPS_PROXY', () => {
  let proxy: ConnectProxy;
  const saved = { ...process.env };
  beforeAll(async () => {
    proxy = await startConnectProxy();
    for (const name of ['NO_PROXY', 'no_proxy', 'https_proxy', 'http_proxy']) delete process.env[name];
    process.env.HTTPS_PROXY = proxy.url;
  });
  afterAll(async () => {
    process.env = saved;
    await proxy.close();
  });

  it('the bounded client still sends token requests through the proxy, and still refuses a 200 MB answer', async () => {
    mode = 'small';
    expect(await tokenSource().getToken()).toBe('small-token');
    expect(proxy.tunnels).toContain(new URL(base).host);
    mode = 'huge';
    const error = await ingestErrorOf(() => tokenSource().getToken());
    expect(error.message).toMatch(/is over 64 KiB/);
    await stoppedEarly();
  });
});
