import { X509Certificate } from 'node:crypto';
import type { StreamSettings } from './generator.js';
import { DAY } from './time.js';
import { CONTENT_TYPES, type SimTenantSpec } from './types.js';

/** A GUID as the API accepts it in a URL. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An app's credentials as the token endpoint checks them. */
export interface AppState {
  clientId: string;
  secret?: string;
  certificate?: X509Certificate;
  roles: string[];
  graphRoles: string[];
}

/** Mutable state of one simulated tenant. */
export interface TenantState {
  /** Lower-case tenant GUID. */
  tenantId: string;
  auditingEnabled: boolean;
  /** By lower-case client id. */
  apps: Map<string, AppState>;
  stream: StreamSettings;
  /** Generated Defender XDR incidents per hour from `stream.historyStart`. */
  incidentsPerHour: number;
  /** Onboarding delay and backfill after a stream's first start (none when absent). */
  firstContent?: { delayInMs: number; backfillInMs: number };
}

/** Validates the tenant specs and builds their state; throws one error naming every problem. */
export function resolveTenants(specs: readonly SimTenantSpec[], feedNow: number): Map<string, TenantState> {
  const problems: string[] = [];
  const tenants = new Map<string, TenantState>();
  if (specs.length === 0) problems.push('at least one tenant is required');
  for (const spec of specs) {
    const tenantId = spec.tenantId.toLowerCase();
    if (!GUID_PATTERN.test(tenantId)) problems.push(`tenantId ${JSON.stringify(spec.tenantId)} is not a GUID`);
    if (tenants.has(tenantId)) problems.push(`tenant ${tenantId} is listed twice`);
    const blobsPerHour = spec.blobsPerHour ?? 12;
    const recordsPerBlob = spec.recordsPerBlob ?? 20;
    if (!(blobsPerHour >= 0 && Number.isFinite(blobsPerHour))) problems.push(`tenant ${tenantId}: blobsPerHour must be a number ≥ 0`);
    if (!(recordsPerBlob >= 0 && Number.isFinite(recordsPerBlob))) problems.push(`tenant ${tenantId}: recordsPerBlob must be a number ≥ 0`);
    const incidentsPerHour = spec.incidentsPerHour ?? 1;
    if (!(incidentsPerHour >= 0 && Number.isFinite(incidentsPerHour))) problems.push(`tenant ${tenantId}: incidentsPerHour must be a number ≥ 0`);
    const fc = spec.firstContent;
    if (fc !== undefined && !(Number.isFinite(fc.delayInMs) && fc.delayInMs >= 0 && Number.isFinite(fc.backfillInMs) && fc.backfillInMs >= 0)) {
      problems.push(`tenant ${tenantId}: firstContent needs delayInMs ≥ 0 and backfillInMs ≥ 0`);
    }
    for (const ct of spec.contentTypes ?? []) {
      if (!CONTENT_TYPES.includes(ct)) problems.push(`tenant ${tenantId}: unknown content type ${JSON.stringify(ct)}`);
    }
    const apps = new Map<string, AppState>();
    for (const app of spec.apps) {
      if (!app.clientId) problems.push(`tenant ${tenantId}: an app has no clientId`);
      let certificate: X509Certificate | undefined;
      if (app.certificatePem !== undefined) {
        try {
          certificate = new X509Certificate(app.certificatePem);
        } catch {
          problems.push(`tenant ${tenantId}: app ${app.clientId} has an unreadable certificatePem`);
        }
      }
      apps.set(app.clientId.toLowerCase(), {
        clientId: app.clientId,
        secret: app.secret,
        certificate,
        roles: app.roles ?? ['ActivityFeed.Read'],
        graphRoles: app.graphRoles ?? ['SecurityIncident.Read.All', 'SecurityAlert.Read.All', 'AuditLogsQuery.Read.All'],
      });
    }
    tenants.set(tenantId, {
      tenantId,
      auditingEnabled: spec.auditingEnabled ?? true,
      apps,
      stream: {
        contentTypes: new Set(spec.contentTypes ?? CONTENT_TYPES),
        blobsPerHour,
        recordsPerBlob,
        historyStart: spec.historyStart ?? feedNow - 8 * DAY,
      },
      incidentsPerHour,
      ...(fc && { firstContent: { delayInMs: fc.delayInMs, backfillInMs: fc.backfillInMs } }),
    });
  }
  if (problems.length > 0) throw new Error(`Invalid simulated tenant options:\n- ${problems.join('\n- ')}`);
  return tenants;
}
