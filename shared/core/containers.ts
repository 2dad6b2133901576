/** Blob containers the pipeline writes to (created by the Bicep and by `ensureResources`). */

/** Bad queue messages (`messages/`), bad content (`content/`) and unusable listing entries (`listings/`), each with its reason. */
export const CONTAINER_QUARANTINE = 'quarantine';

/** The raw record of an oversize event: `<tenant>/<contentId>/<EventId>.json`. */
export const CONTAINER_CLAIM_CHECK = 'claim-check';
