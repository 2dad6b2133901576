import { describe, expect, it } from 'vitest';
import { classifyFailure, parseErrorBody } from '../../../../shared/adapters/managementApi/apiErrors.js';
import { parseRetryAfter } from '../../../../shared/adapters/http/request.js';
import { PermanentError, TransientError } from '../../../../shared/core/errors.js';

const ctx = { tenantId: '8f0a1c2d-3b4e-4f56-8a9b-0c1d2e3f4a5b', operation: 'list content Audit.Exchange' };
const failure = (httpStatus: number, afCode?: string, apiMessage?: string) => ({ httpStatus, afCode, apiMessage, documentedBody: afCode !== undefined });

describe('classifyFailure', () => {
  it.each([
    ['AF10001', 401, 'PermissionMissing'],
    ['AF20001', 400, 'BadRequest'],
    ['AF20002', 400, 'BadRequest'],
    ['AF20003', 400, 'BadRequest'],
    ['AF20010', 401, 'TenantMismatch'],
    ['AF20011', 400, 'TenantNotFound'],
    ['AF20012', 400, 'TenantNotFound'],
    ['AF20013', 400, 'BadRequest'],
    ['AF20020', 400, 'BadRequest'],
    ['AF20021', 400, 'BadRequest'],
    ['AF20022', 400, 'SubscriptionMissing'],
    ['AF20023', 400, 'SubscriptionDisabled'],
    ['AF20030', 400, 'InvalidWindow'],
    ['AF20055', 400, 'InvalidWindow'],
    ['AF20050', 404, 'ContentMissing'],
    ['AF20051', 400, 'ContentExpired'],
    ['AF20052', 400, 'ContentIdInvalid'],
    ['AF20053', 400, 'BadRequest'],
    ['AF20054', 400, 'BadRequest'],
  ])('%s (HTTP %i) is permanent %s', (afCode, status, code) => {
    const err = classifyFailure(failure(status, afCode), ctx);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code, afCode, httpStatus: status, retryable: false, tenantId: ctx.tenantId });
    expect(err.message).toContain(ctx.tenantId);
  });

  it.each([
    ['AF429', 403, 'Throttled'],
    ['AF429', 429, 'Throttled'],
    ['AF429', 400, 'Throttled'],
    ['AF50000', 500, 'ServiceUnavailable'],
    ['AF50005', 500, 'ServiceUnavailable'],
    ['AF50006', 503, 'ServiceUnavailable'],
    ['AF20031', 400, 'InvalidPageToken'],
  ])('%s (HTTP %i) is transient %s', (afCode, status, code) => {
    const err = classifyFailure(failure(status, afCode), ctx);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code, afCode, retryable: true });
  });

  // The API's documented error codes with the status they come with, and whether a retry can succeed
  // (throttling, service errors and an expired page token are transient; the rest need a fix first).
  it.each([
    ['AF10001', 401, false],
    ['AF20001', 400, false],
    ['AF20002', 400, false],
    ['AF20003', 400, false],
    ['AF20010', 401, false],
    ['AF20011', 400, false],
    ['AF20012', 400, false],
    ['AF20013', 400, false],
    ['AF20020', 400, false],
    ['AF20021', 400, false],
    ['AF20022', 400, false],
    ['AF20023', 400, false],
    ['AF20030', 400, false],
    ['AF20031', 400, true],
    ['AF20050', 404, false],
    ['AF20051', 400, false],
    ['AF20052', 400, false],
    ['AF20053', 400, false],
    ['AF20054', 400, false],
    ['AF20055', 400, false],
    ['AF429', 403, true],
    ['AF50000', 500, true],
    ['AF50005', 500, true],
    ['AF50006', 500, true],
  ] as const)('%s (HTTP %i): retryable %s, as documented', (afCode, status, retryable) => {
    expect(classifyFailure(failure(status, afCode), ctx).retryable).toBe(retryable);
  });

  it('classifies by status when there is no AF code', () => {
    expect(classifyFailure(failure(429), ctx)).toMatchObject({ code: 'Throttled', retryable: true });
    expect(classifyFailure(failure(401), ctx)).toMatchObject({ code: 'Unauthorized', retryable: true });
    expect(classifyFailure(failure(408), ctx)).toMatchObject({ code: 'Timeout', retryable: true });
    expect(classifyFailure(failure(503), ctx)).toMatchObject({ code: 'ServiceUnavailable', retryable: true });
    // A proxy's HTML page on a 4xx says nothing about our request: transient.
    expect(classifyFailure({ httpStatus: 403, documentedBody: false }, ctx)).toMatchObject({ code: 'ServiceUnavailable', retryable: true });
    expect(classifyFailure({ httpStatus: 400, afCode: 'AF99999', documentedBody: true }, ctx)).toMatchObject({ code: 'BadRequest', retryable: false });
  });

  it('says what "Tenant does not exist" really means', () => {
    const err = classifyFailure(
      failure(400, 'AF20011', `Microsoft.Office.Compliance.Audit.DataServiceException: Tenant ${ctx.tenantId} does not exist.`),
      ctx,
    );
    expect(err).toMatchObject({ code: 'AuditingDisabled', retryable: false });
    expect(err.message).toMatch(/unified audit logging appears to be turned off/);
  });

  it('keeps Retry-After on throttling errors', () => {
    const err = classifyFailure({ ...failure(429, 'AF429'), retryAfterInMs: 7000 }, ctx);
    expect(err.retryAfterInMs).toBe(7000);
  });
});

describe('parseErrorBody', () => {
  it('reads the documented shape and upper-cases the code', () => {
    expect(parseErrorBody('{"error":{"code":"af20022","message":"No subscription found for the specified content type."}}')).toEqual({
      afCode: 'AF20022',
      apiMessage: 'No subscription found for the specified content type.',
      documentedBody: true,
    });
  });
  it.each(['<html>502 Bad Gateway</html>', '', '{"error":"x"}', 'null', '{"error":{"message":"m"}}'])('treats %j as undocumented', (text) => {
    expect(parseErrorBody(text)).toEqual({ documentedBody: false });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-24T10:00:00Z');
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    // A date in the past asks for no wait: no hint, so the client's own backoff applies.
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBeUndefined();
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
