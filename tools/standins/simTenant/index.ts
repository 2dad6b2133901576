/**
 * The simulated tenant: an https fake of the Office 365 Management Activity API, Microsoft Graph security
 * and their Entra ID token endpoint, for `npm run local`, the integration tests and the benchmarks.
 */
export { startSimTenant } from './server.js';
export { CONTENT_TYPES } from './types.js';
export type {
  ContentListing,
  ContentType,
  Fault,
  FaultController,
  FaultRule,
  GraphAlert,
  GraphIncident,
  SecurityChange,
  SimAuditQueryView,
  SimApp,
  SimOperation,
  SimStats,
  SimTenant,
  SimTenantOptions,
  SimTenantSpec,
  UnusableEntryKind,
} from './types.js';
