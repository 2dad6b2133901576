/**
 * National cloud profiles for the Management Activity API: which host serves the
 * feed, which Entra authority issues tokens, and the token scope. GCC uses the commercial login host;
 * GCC High and DoD use login.microsoftonline.us. Each profile also names the cloud's Microsoft Graph
 * endpoint, which serves the Defender XDR incidents and alerts.
 */
export const CLOUD_NAMES = ['commercial', 'gcc', 'gcchigh', 'dod'] as const;
export type CloudName = (typeof CLOUD_NAMES)[number];

export interface CloudProfile {
  readonly name: CloudName;
  /** `https://manage.office.com` — no trailing slash. */
  readonly managementEndpoint: string;
  /** `https://login.microsoftonline.com` — no trailing slash. */
  readonly authorityHost: string;
  /** The v2 scope for client-credential tokens: the management resource plus `/.default`. */
  readonly tokenScope: string;
  /** `https://graph.microsoft.com` — no trailing slash; GCC shares the commercial Graph. */
  readonly graphEndpoint: string;
  /** The v2 scope of Graph tokens: the Graph resource plus `/.default`. */
  readonly graphScope: string;
}

function profile(name: CloudName, managementHost: string, loginHost: string, graphHost: string): CloudProfile {
  const managementEndpoint = `https://${managementHost}`;
  const graphEndpoint = `https://${graphHost}`;
  return {
    name,
    managementEndpoint,
    authorityHost: `https://${loginHost}`,
    tokenScope: `${managementEndpoint}/.default`,
    graphEndpoint,
    graphScope: `${graphEndpoint}/.default`,
  };
}

export const CLOUDS: Readonly<Record<CloudName, CloudProfile>> = Object.freeze({
  commercial: profile('commercial', 'manage.office.com', 'login.microsoftonline.com', 'graph.microsoft.com'),
  gcc: profile('gcc', 'manage-gcc.office.com', 'login.microsoftonline.com', 'graph.microsoft.com'),
  gcchigh: profile('gcchigh', 'manage.office365.us', 'login.microsoftonline.us', 'graph.microsoft.us'),
  dod: profile('dod', 'manage.protection.apps.mil', 'login.microsoftonline.us', 'dod-graph.microsoft.us'),
});

export function isCloudName(value: unknown): value is CloudName {
  return typeof value === 'string' && (CLOUD_NAMES as readonly string[]).includes(value);
}
