/**
 * Outbound proxies, from the conventional environment variables: `HTTPS_PROXY` / `https_proxy` for
 * https URLs, `HTTP_PROXY` / `http_proxy` for http URLs, and `NO_PROXY` / `no_proxy` for hosts that are
 * reached directly.
 *
 * Who uses what:
 * - our own HTTP calls (Management Activity API, Microsoft Graph) go through {@link proxiedFetch}, undici's
 *   fetch with its `EnvHttpProxyAgent` (Node's global fetch ignores these variables);
 * - the Azure SDK clients (@azure/identity and MSAL token requests, Key Vault, Storage blobs, queues and
 *   tables) read the same variables in their own HTTP pipeline (core-rest-pipeline's proxy policy);
 * - Event Hubs speaks AMQP over TCP, which an HTTP proxy cannot carry: when a proxy applies to the
 *   namespace, the producer switches to AMQP over WebSockets (port 443) through the proxy
 *   ({@link webSocketProxyAgent}).
 */
import { HttpsProxyAgent } from 'https-proxy-agent';
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';

type Env = Readonly<Record<string, string | undefined>>;

const read = (env: Env, name: string): string | undefined => env[name] ?? env[name.toLowerCase()] ?? undefined;

/** The proxy URL to use for `target`, or undefined for a direct connection. */
export function proxyFor(target: string | URL, env: Env = process.env): string | undefined {
  const url = typeof target === 'string' ? new URL(target) : target;
  const secure = url.protocol === 'https:' || url.protocol === 'wss:' || url.protocol === 'sb:' || url.protocol === 'amqps:';
  const proxy = (secure ? read(env, 'HTTPS_PROXY') : undefined) ?? read(env, 'HTTP_PROXY');
  if (!proxy?.trim()) return undefined;
  const port = url.port || (secure ? '443' : '80');
  return bypassed(url.hostname, port, read(env, 'NO_PROXY')) ? undefined : proxy.trim();
}

/**
 * `NO_PROXY` as curl and undici read it: a comma- or space-separated list of host names (a name also
 * matches its subdomains; a leading `.` or `*.` means the same), optional `:port`, IP addresses, or `*`.
 */
export function bypassed(hostname: string, port: string, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const m = /^(?:\[([^\]]+)\]|([^:]+|[0-9a-f:]+))(?::(\d+))?$/.exec(entry);
    const name = (m?.[1] ?? m?.[2] ?? entry).replace(/^\*?\./, '');
    if (m?.[3] && m[3] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

let dispatcher: EnvHttpProxyAgent | undefined;

/**
 * `fetch` that honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY (undici's fetch and EnvHttpProxyAgent,
 * read once per process). The response is the WHATWG Response the callers already handle.
 */
export function proxiedFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  dispatcher ??= new EnvHttpProxyAgent();
  return undiciFetch(input, { ...(init as Record<string, unknown>), dispatcher }) as unknown as Promise<Response>;
}

/** Drops the cached dispatcher, so changed proxy variables take effect (tests). */
export function resetProxyDispatcher(): void {
  void dispatcher?.close().catch(() => undefined);
  dispatcher = undefined;
}

/**
 * An agent for the `ws` WebSocket client that tunnels through the proxy applying to `target`
 * (HTTP CONNECT), or undefined when the target is reached directly.
 */
export function webSocketProxyAgent(target: string, env: Env = process.env): HttpsProxyAgent<string> | undefined {
  const proxy = proxyFor(target, env);
  return proxy ? new HttpsProxyAgent(proxy) : undefined;
}
