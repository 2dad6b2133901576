import { CONTAINER_CLAIM_CHECK } from '../../core/containers.js';
import { describeError } from '../../core/errors.js';
import { exceedsBytes, shrinkToBudget, type Shrinkable } from '../../core/eventBudget.js';
import type { BlobManifestEvent } from '../../core/manifest.js';
import type { AnyStreamKey } from '../../core/model.js';
import type { NormalizedEvent } from '../../core/normalize/event.js';
import type { PipelineErrorEvent, PipelineHealEvent } from '../../core/pipelineEvent.js';
import type { BlobStore, EventSink, Logger, Metrics } from '../../ports.js';
import type { OutgoingEvent } from '../../core/io.js';

/** Events as they go on the hub, shared by the use cases that publish: properties, claim-check, in-band pipeline events. */

/** An in-band event of the pipeline itself: an error report, a blob manifest or a heal report. */
export type PipelineEvent = PipelineErrorEvent | BlobManifestEvent | PipelineHealEvent;

/** A pipeline event as it goes on the hub. */
export function pipelineOutgoing(event: PipelineEvent): OutgoingEvent {
  return {
    body: JSON.stringify(event),
    messageId: event.EventId,
    correlationId: event.SourceContentId,
    properties: { EnvelopeVersion: event.EnvelopeVersion, EventSchema: event.EventSchema, Source: event.Source, OrganizationId: event.OrganizationId, AMQPheaders: '1' },
  };
}

/**
 * Sends one in-band pipeline event (a blob or listing entry that will not be delivered, a heal's outcome) to
 * the hub. Its failure is logged (`failure`: the warning and its fields), never allowed to undo the outcome
 * the ledger or the gap record already records.
 */
export async function publishPipelineEvent(
  event: PipelineEvent,
  deps: { readonly sink: EventSink; readonly logger: Logger },
  failure: { readonly message: string; readonly fields: Record<string, unknown> } = {
    message: 'could not publish the pipeline event; the ledger row still records the outcome',
    fields: { contentId: event.SourceContentId },
  },
): Promise<void> {
  try {
    const publication = deps.sink.open({ partitionKey: event.SourceContentId.length <= 128 ? event.SourceContentId : undefined });
    await publication.add(pipelineOutgoing(event));
    await publication.flush();
  } catch (err) {
    deps.logger.warn(failure.message, { ...failure.fields, error: describeError(err) });
  }
}

/** The application properties of a normalized audit event: routing hints only, everything else is in the body. */
export function eventProperties(event: NormalizedEvent): Record<string, string> {
  return {
    EnvelopeVersion: event.EnvelopeVersion,
    EventSchema: event.EventSchema,
    Source: event.Source,
    Workload: event.Workload ?? '',
    RecordTypeName: event.RecordTypeName,
    OrganizationId: event.OrganizationId,
    // Marks AMQP-encoded headers for Kafka readers (docs/architecture.md, "The normalized event").
    AMQPheaders: '1',
  };
}

/**
 * The body of an event within the per-event size budget: `body` itself, or, when it exceeds `maxEventBytes`,
 * the event shrunk to a reference to its raw record (`raw`, read only then), which is kept in the
 * claim-check container as `<folder>/<EventId>.json` (counted as `events.claimCheck`).
 */
export async function bodyWithinBudget<E extends Shrinkable & { readonly EventId: string }>(
  event: E,
  body: string,
  raw: () => string,
  folder: string,
  stream: AnyStreamKey,
  deps: { readonly blobs: BlobStore; readonly metrics: Metrics },
  options: { readonly maxEventBytes: number; readonly abortSignal?: AbortSignal },
): Promise<string> {
  if (!exceedsBytes(body, options.maxEventBytes)) return body;
  const ref = await deps.blobs.put(CONTAINER_CLAIM_CHECK, `${folder}/${event.EventId}.json`, raw(), {
    contentType: 'application/json',
    abortSignal: options.abortSignal,
  });
  const shrunk = shrinkToBudget(event, ref, options.maxEventBytes);
  deps.metrics.count('events.claimCheck', 1, { tenantId: stream.tenantId, contentType: stream.contentType });
  return shrunk;
}

/** Content ids may contain `$`, which blob names allow; anything else odd is replaced. */
export function safeName(contentId: string): string {
  return contentId.replace(/[^A-Za-z0-9$_.\-]/g, '_');
}
