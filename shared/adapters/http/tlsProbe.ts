import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import { proxyFor } from './proxy.js';

/**
 * Why TLS to `origin` fails verification here, or undefined when it verifies (or cannot be reached).
 * Used only after a failure that hides its cause: MSAL reports a token endpoint it could not reach as
 * `endpoints_resolution_error`, without the TLS error underneath. Goes through the proxy the process
 * would use, since a TLS-inspecting proxy is the usual reason.
 */
export async function probeTlsTrust(origin: string, timeoutInMs = 5_000): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:') return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const deadline = AbortSignal.timeout(timeoutInMs);
  try {
    const proxy = proxyFor(url);
    const socket = proxy ? await tunnel(new URL(proxy), host, port, deadline) : undefined;
    return await new Promise<string | undefined>((resolve) => {
      const tls = connect({ host, port, socket, servername: /^[\d.]+$|:/.test(host) ? undefined : host, rejectUnauthorized: false });
      const done = (result: string | undefined) => {
        tls.destroy();
        resolve(result);
      };
      deadline.addEventListener('abort', () => done(undefined), { once: true });
      tls.once('error', () => done(undefined));
      tls.once('secureConnect', () => {
        if (!tls.authorized) return done(String((tls.authorizationError as { code?: string } | null)?.code ?? tls.authorizationError ?? 'CERT_UNTRUSTED'));
        const mismatch = checkServerIdentity(host, tls.getPeerCertificate() as PeerCertificate);
        done(mismatch ? 'ERR_TLS_CERT_ALTNAME_INVALID' : undefined);
      });
    });
  } catch {
    return undefined;
  }
}

function tunnel(proxy: URL, host: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: `${host}:${port}`, signal });
    req.once('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`proxy answered ${res.statusCode}`))));
    req.once('error', reject);
    req.end();
  });
}
