import { AzureMonitorLogExporter, AzureMonitorMetricExporter } from '@azure/monitor-opentelemetry-exporter';
import type { TokenCredential } from '@azure/identity';
import { startTelemetry, type Telemetry } from './openTelemetry.js';

export interface AzureMonitorTelemetryOptions {
  /** APPLICATIONINSIGHTS_CONNECTION_STRING. */
  readonly connectionString: string;
  /** For Application Insights with local authentication off (Entra ID only): the app's identity. */
  readonly credential?: TokenCredential;
  readonly metricIntervalInMs?: number;
  /** Keep telemetry that could not be sent on disk and retry it (default true; tests turn it off). */
  readonly offlineStorage?: boolean;
}

/** Logs and metrics to Application Insights through the Azure Monitor OpenTelemetry exporter. */
export function startAzureMonitorTelemetry(options: AzureMonitorTelemetryOptions): Telemetry {
  const exporterOptions = {
    connectionString: options.connectionString,
    ...(options.credential ? { credential: options.credential } : {}),
    disableOfflineStorage: options.offlineStorage === false,
  };
  return startTelemetry({
    logExporter: new AzureMonitorLogExporter(exporterOptions),
    metricExporter: new AzureMonitorMetricExporter(exporterOptions),
    metricIntervalInMs: options.metricIntervalInMs,
  });
}

/**
 * The credential Application Insights asks for, from APPLICATIONINSIGHTS_AUTHENTICATION_STRING
 * (`Authorization=AAD[;ClientId=<user-assigned identity>]`, as the Bicep sets it), or undefined.
 */
export function aadClientIdOf(authenticationString: string | undefined): { aad: boolean; clientId?: string } {
  const aad = /(?:^|;)\s*Authorization\s*=\s*AAD\s*(?:;|$)/i.test(authenticationString ?? '');
  const clientId = /(?:^|;)\s*ClientId\s*=\s*([^;\s]+)/i.exec(authenticationString ?? '')?.[1];
  return { aad, clientId };
}
