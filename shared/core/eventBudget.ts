/**
 * The per-event size budget (docs/architecture.md, "The normalized event"). Sentinel's Event Hub data
 * connection takes messages up to 64 KB, so an event over `MAX_EVENT_BYTES` sends its `Raw` record to
 * a claim-check blob and carries `RawTruncated` and `RawRef` instead.
 */

/** UTF-8 size of a string, computed only when it could matter (a UTF-16 unit is at most 3 UTF-8 bytes). */
export function exceedsBytes(text: string, maxBytes: number): boolean {
  if (text.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(text, 'utf8') > maxBytes;
}

export interface Shrinkable {
  Raw: unknown;
  RawTruncated: boolean;
  RawRef?: string;
  AdditionalFields?: Record<string, unknown>;
  ParseWarnings?: string[];
}

/**
 * The body to send once the record is in a claim-check blob at `rawRef`. A full event loses `Raw`; if it
 * is still over budget (huge AdditionalFields), those go too — they are derived from the record, which
 * stays retrievable. A compact event (no `Raw`: the record's fields are its AdditionalFields) loses its
 * AdditionalFields. Fields whose value is `undefined` count as absent, as JSON.stringify has them.
 */
export function shrinkToBudget<E extends Shrinkable>(event: E, rawRef: string, maxBytes: number): string {
  const defined = definedFields(event);
  const compact = defined.Raw === undefined;
  let lean: Record<string, unknown>;
  if (compact) {
    const warnings = [...(event.ParseWarnings ?? []), 'AdditionalFields moved to a claim-check blob with the record: the event exceeded MAX_EVENT_BYTES'];
    lean = { ...defined, RawTruncated: true, RawRef: rawRef, AdditionalFields: undefined, ParseWarnings: warnings };
  } else {
    const warnings = [...(event.ParseWarnings ?? []), 'Raw moved to a claim-check blob: the event exceeded MAX_EVENT_BYTES'];
    const withoutRaw = { ...defined, Raw: null, RawTruncated: true, RawRef: rawRef, ParseWarnings: warnings };
    const body = JSON.stringify(withoutRaw);
    if (!exceedsBytes(body, maxBytes)) return body;
    lean = { ...withoutRaw, AdditionalFields: undefined, ParseWarnings: [...warnings, 'AdditionalFields dropped for size; see RawRef'] };
  }
  const leanBody = JSON.stringify(lean);
  if (!exceedsBytes(leanBody, maxBytes)) return leanBody;
  // Some other field is enormous (an operation name of megabytes): keep only what identifies the record.
  const { EnvelopeSchema, EnvelopeVersion, EventId, EventOriginalUid, TimeGenerated, Source, SourceContentType, SourceContentId, OrganizationId, RecordType, RawSha256, RawSizeBytes } =
    defined;
  return JSON.stringify({
    EnvelopeSchema, EnvelopeVersion, EventId, EventOriginalUid, TimeGenerated, Source, SourceContentType, SourceContentId, OrganizationId, RecordType,
    ParseWarnings: [`the envelope exceeded MAX_EVENT_BYTES even without ${compact ? 'AdditionalFields' : 'Raw'}; only identifying fields are sent, the record is at RawRef`],
    RawSha256, RawSizeBytes, RawTruncated: true, RawRef: rawRef, Raw: compact ? undefined : null,
  });
}

/** The event's fields that have a value, in order. */
function definedFields(event: object): Record<string, unknown> {
  const defined: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) if (value !== undefined) defined[key] = value;
  return defined;
}
