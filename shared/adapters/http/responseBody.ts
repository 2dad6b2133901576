/**
 * Reading response bodies with a size limit, so a misbehaving service or proxy cannot make a worker
 * hold an unbounded body in memory. Past the limit the body is cancelled (the connection is closed),
 * not read further. Content blob downloads are streamed and are not read through here.
 */

/**
 * Most bytes of one listing page (Management Activity API content and subscription lists) or one
 * Microsoft Graph page. A real page is well under 1 MiB (the activity API pages a few hundred entries,
 * Graph a few hundred entities); 16 MiB leaves a wide margin.
 */
export const MAX_PAGE_BYTES = 16 * 1024 * 1024;
/** Most bytes of an error body read: what classifying it needs is in its first few hundred bytes. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Most bytes of a token response (and of the identity and Key Vault answers around it): a token is a few KiB. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** `bytes` as the reader of a message sees it: `16 MiB (16777216 bytes)`. */
export function describeLimit(bytes: number): string {
  const unit = bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
  return `${unit} (${bytes} bytes)`;
}

interface Head {
  readonly chunks: Uint8Array[];
  readonly bytes: number;
  /** The body had more than the limit; the rest was not read and the body is cancelled. */
  readonly over: boolean;
}

/** Up to `limit` bytes of `body`; past them it cancels the body and says so. */
async function readHead(body: ReadableStream<Uint8Array>, limit: number): Promise<Head> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { chunks, bytes, over: false };
      if (bytes + value.byteLength > limit) {
        chunks.push(value.subarray(0, limit - bytes));
        await reader.cancel().catch(() => undefined);
        return { chunks, bytes: limit, over: true };
      }
      chunks.push(value);
      bytes += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
}

function decode(head: Head): string {
  // Like Response.text(): UTF-8, a leading byte order mark dropped, bad sequences replaced.
  const decoder = new TextDecoder();
  let text = '';
  for (const chunk of head.chunks) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** The Content-Length a response announces, when it announces one. */
function announcedLength(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  const length = header === null ? Number.NaN : Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * The whole body as text, or undefined when it is longer than `limit` bytes (announced by
 * Content-Length, or counted as it arrives): then the body is cancelled and the rest never read.
 */
export async function readTextWithin(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return '';
  if ((announcedLength(response) ?? 0) > limit) {
    await response.body.cancel().catch(() => undefined);
    return undefined;
  }
  const head = await readHead(response.body, limit);
  return head.over ? undefined : decode(head);
}

/**
 * The first `limit` bytes of a body as text, the rest cancelled unread (error bodies: classifying a
 * failure needs only the start, and a proxy's error page can be large).
 */
export async function readLimitedText(response: Response, limit: number = MAX_ERROR_BODY_BYTES): Promise<string> {
  if (!response.body) return '';
  return decode(await readHead(response.body, limit));
}
