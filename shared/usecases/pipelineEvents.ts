import { describeError } from '../core/errors.js';
import type { PipelineErrorEvent } from '../core/pipelineEvent.js';
import type { EventSink, Logger } from '../ports.js';

/**
 * Sends one in-band pipeline event (a blob or listing entry that will not be delivered) to the hub. Its
 * failure is logged, never allowed to undo the outcome the ledger already records. Shared by use cases.
 */
export async function publishPipelineEvent(event: PipelineErrorEvent, deps: { readonly sink: EventSink; readonly logger: Logger }): Promise<void> {
  try {
    const publication = deps.sink.open({ partitionKey: event.SourceContentId.length <= 128 ? event.SourceContentId : undefined });
    await publication.add({
      body: JSON.stringify(event),
      messageId: event.EventId,
      correlationId: event.SourceContentId,
      properties: { EnvelopeVersion: event.EnvelopeVersion, EventSchema: event.EventSchema, Source: event.Source, OrganizationId: event.OrganizationId, AMQPheaders: '1' },
    });
    await publication.flush();
  } catch (err) {
    deps.logger.warn('could not publish the pipeline event; the ledger row still records the outcome', { contentId: event.SourceContentId, error: describeError(err) });
  }
}
