import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { status } from '../shared/usecases/operations.js';
import { getWiring, type Wiring } from '../shared/wiring.js';

/**
 * GET /api/status (function key): every stream's cursor and latest health (Defender XDR streams included),
 * the completeness invariant per stream (with its hours in `health.hours`), and the overall state.
 */
export async function handleStatusRequest(_request: HttpRequest, _context: InvocationContext, wiring: Wiring = getWiring()): Promise<HttpResponseInit> {
  const streams = await status([...wiring.streams, ...wiring.securityStreams], wiring);
  const order = ['ok', 'starting', 'degraded', 'failing'] as const;
  const overall = streams.reduce<(typeof order)[number]>((worst, s) => {
    const state = s.health?.state ?? 'starting';
    return order.indexOf(state) > order.indexOf(worst) ? state : worst;
  }, 'ok');
  const invariantHolds = streams.every((s) => s.health?.invariant?.holds !== false);
  return {
    status: 200,
    jsonBody: {
      state: overall,
      invariantHolds,
      streams: streams.map((s) => ({
        tenantId: s.stream.tenantId,
        contentType: s.stream.contentType,
        state: s.health?.state ?? 'starting',
        reasons: s.health?.reasons ?? ['no reconcile has run yet'],
        cursor: s.cursor?.cursor,
        subscription: s.cursor?.subscription,
        lastSuccessAt: s.cursor?.lastSuccessAt,
        lastErrorCode: s.cursor?.lastErrorCode,
        lastError: s.cursor?.lastError,
        consecutiveFailures: s.cursor?.consecutiveFailures ?? 0,
        gaps: s.cursor ? { count: s.cursor.gapCount, totalMs: s.cursor.gapTotalMs, last: s.cursor.lastGapStart && { start: s.cursor.lastGapStart, end: s.cursor.lastGapEnd } } : undefined,
        // What reconcile found: the invariant (named violations), the gap records with their healing, the sweep's lateness.
        invariant: s.health?.invariant,
        gapRecords: s.health?.gaps,
        sweep: s.health?.sweep,
        health: s.health,
      })),
    },
  };
}

app.http('status', { methods: ['GET'], authLevel: 'function', route: 'status', handler: (request, context) => handleStatusRequest(request, context) });
