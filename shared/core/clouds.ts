/**
 * National cloud profiles for the Management Activity API (reference §1.2): which host serves the
 * feed, which Entra authority issues tokens, and the token scope. GCC uses the commercial login host;
 * GCC High and DoD use login.microsoftonline.us.
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
}

function profile(name: CloudName, managementHost: string, loginHost: string): CloudProfile {
  const managementEndpoint = `https://${managementHost}`;
  return { name, managementEndpoint, authorityHost: `https://${loginHost}`, tokenScope: `${managementEndpoint}/.default` };
}

export const CLOUDS: Readonly<Record<CloudName, CloudProfile>> = Object.freeze({
  commercial: profile('commercial', 'manage.office.com', 'login.microsoftonline.com'),
  gcc: profile('gcc', 'manage-gcc.office.com', 'login.microsoftonline.com'),
  gcchigh: profile('gcchigh', 'manage.office365.us', 'login.microsoftonline.us'),
  dod: profile('dod', 'manage.protection.apps.mil', 'login.microsoftonline.us'),
});

export function isCloudName(value: unknown): value is CloudName {
  return typeof value === 'string' && (CLOUD_NAMES as readonly string[]).includes(value);
}
