/**
 * Logs and metrics as OpenTelemetry, exported to Application Insights by the Azure Monitor exporter,
 * the way Azure Functions documents OpenTelemetry for Node.js (host.json `"telemetryMode":
 * "OpenTelemetry"`, the worker exporting its own telemetry).
 *
 * Why not `context.info(message, fields)`: @azure/functions flattens the fields into one string, so
 * nothing reaches customDimensions. Here every field becomes a log attribute (a customDimension of the
 * trace), every metric a real metric (customMetrics, with its dimensions), and each log record carries
 * the invocation's trace context, so it correlates with the host's request telemetry (operation_Id).
 *
 * Attributes are screened on the way out ({@link safeAttributes}): no secret, token, connection
 * string or record body leaves the process as a log attribute.
 */
import { ROOT_CONTEXT, defaultTextMapGetter, type Context } from '@opentelemetry/api';
import { SeverityNumber, type AnyValue, type Logger as OtelLogger } from '@opentelemetry/api-logs';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { describeError } from '../../core/errors.js';
import type { Logger, Metrics } from '../../ports.js';

export const INSTRUMENTATION_SCOPE = 'm365-audit-ingest';

/** Where a log record belongs: the invocation (for customDimensions) and its W3C trace context (for correlation). */
export interface InvocationScope {
  readonly invocationId?: string;
  readonly functionName?: string;
  readonly traceParent?: string | null;
  readonly traceState?: string | null;
}

export interface Telemetry {
  logger(scope?: InvocationScope): Logger;
  readonly metrics: Metrics;
  /** Exports everything buffered now (end of an invocation that must not lose telemetry; tests). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  readonly logExporter: LogRecordExporter;
  readonly metricExporter: PushMetricExporter;
  /** How often metrics are exported. Default 60 s (Application Insights aggregates per minute). */
  readonly metricIntervalInMs?: number;
}

const propagator = new W3CTraceContextPropagator();
const SEVERITY = {
  debug: [SeverityNumber.DEBUG, 'Debug'],
  info: [SeverityNumber.INFO, 'Information'],
  warn: [SeverityNumber.WARN, 'Warning'],
  error: [SeverityNumber.ERROR, 'Error'],
} as const;

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const loggerProvider = new LoggerProvider({ processors: [new BatchLogRecordProcessor(options.logExporter)] });
  const reader = new PeriodicExportingMetricReader({ exporter: options.metricExporter, exportIntervalMillis: options.metricIntervalInMs ?? 60_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const otelLogger = loggerProvider.getLogger(INSTRUMENTATION_SCOPE);
  const meter = meterProvider.getMeter(INSTRUMENTATION_SCOPE);
  return {
    logger: (scope) => scopedLogger(otelLogger, scope),
    metrics: instrumentMetrics(meter),
    async flush() {
      await Promise.all([loggerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    async shutdown() {
      await Promise.all([loggerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

function scopedLogger(otel: OtelLogger, scope: InvocationScope = {}): Logger {
  const context: Context = scope.traceParent
    ? propagator.extract(ROOT_CONTEXT, { traceparent: scope.traceParent, ...(scope.traceState ? { tracestate: scope.traceState } : {}) }, defaultTextMapGetter)
    : ROOT_CONTEXT;
  const invocation: Record<string, string> = {};
  if (scope.invocationId) invocation.InvocationId = scope.invocationId;
  if (scope.functionName) invocation.FunctionName = scope.functionName;
  const emit = (level: keyof typeof SEVERITY) => (message: string, fields?: Record<string, unknown>) => {
    const [severityNumber, severityText] = SEVERITY[level];
    otel.emit({ severityNumber, severityText, body: message, attributes: { ...safeAttributes(fields), ...invocation }, context });
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/**
 * Counters for counts, histograms for measurements (names ending in `.ms` or `.minutes`: lags, gap
 * lengths), so Application Insights shows sums for the one and distributions for the other.
 */
function instrumentMetrics(meter: Meter): Metrics {
  const counters = new Map<string, Counter>();
  const histograms = new Map<string, Histogram>();
  return {
    count(name, value, dimensions) {
      const attributes = dimensions ? (safeAttributes(dimensions) as Record<string, string>) : undefined;
      if (/\.(ms|minutes)$/.test(name)) {
        let h = histograms.get(name);
        if (!h) histograms.set(name, (h = meter.createHistogram(name, { unit: name.endsWith('.ms') ? 'ms' : 'min' })));
        h.record(value, attributes);
      } else {
        let c = counters.get(name);
        if (!c) counters.set(name, (c = meter.createCounter(name)));
        if (value >= 0) c.add(value, attributes);
      }
    },
  };
}

// Field names whose values are never exported, and fields that may hold a record or a body.
const SECRET_KEY = /secret|passw|pwd|token|authorization|credential|connection.?string|account.?key|sharedaccess|signature|^sig$|cookie|apikey|api.?key/i;
const BODY_KEY = /^(raw|body|record|records|payload|content)$/i;
const MAX_STRING = 1024;

/**
 * Log fields as OpenTelemetry attributes (customDimensions): strings, numbers and booleans as they are;
 * errors as their description; other objects as short JSON. A field named like a secret is dropped to
 * `[redacted]`; a field that may hold a record or a body keeps only numbers (counts); a string value
 * that looks like a token or a connection string with a key is redacted wherever it appears.
 */
export function safeAttributes(fields: Record<string, unknown> | undefined): Record<string, AnyValue> {
  const out: Record<string, AnyValue> = {};
  if (!fields) return out;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (SECRET_KEY.test(key) && !/^tokenRefused$/.test(key)) {
      out[key] = '[redacted]';
      continue;
    }
    if (BODY_KEY.test(key) && typeof value !== 'number') {
      out[key] = '[omitted]';
      continue;
    }
    out[key] = attributeValue(value);
  }
  return out;
}

function attributeValue(value: unknown): AnyValue {
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return screenString(value);
  if (value instanceof Error) return screenString(describeError(value));
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
    return value.slice(0, 50).map((v) => (typeof v === 'string' ? screenString(v) : v)) as AnyValue;
  }
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? describeError(v) : v)) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return screenString(text);
}

function screenString(text: string): string {
  const screened = text
    // JWTs (bearer tokens), Authorization headers, key-bearing connection string parts, SAS signatures.
    .replace(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted token]')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]')
    .replace(/\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|client_secret)=([^;&\s"]+)/gi, '$1=[redacted]')
    .replace(/([?&]sig=)[^&\s"]+/gi, '$1[redacted]');
  return screened.length > MAX_STRING ? `${screened.slice(0, MAX_STRING - 1)}…` : screened;
}
