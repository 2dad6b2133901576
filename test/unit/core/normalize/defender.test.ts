import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_ID_NAMESPACE } from '../../../../shared/core/normalize/event.js';
import { lastUpdateOf, normalizeDefender, type DefenderContext, type DefenderEvent } from '../../../../shared/core/normalize/defender.js';
import { uuidV5 } from '../../../../shared/core/uuid.js';

const TENANT = '4F4F4F4F-3E3E-4D2D-8C1C-0B0B0B0B0B0B';
const tenant = TENANT.toLowerCase();
const alertContext: DefenderContext = { kind: 'alert', tenantId: TENANT, pageId: '2026-11-20T09:50:00.1234567Z|p0002', processedTime: '2026-11-20T10:05:00.000Z' };
const incidentContext: DefenderContext = { ...alertContext, kind: 'incident' };

/** A Graph alerts_v2 entity in the shape the service documents (our own values). */
function sampleAlert(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.security.alert',
    id: 'da638123456789012345_-1122334455',
    providerAlertId: '638123456789012345_-1122334455',
    incidentId: '2417',
    status: 'inProgress',
    severity: 'high',
    classification: 'truePositive',
    determination: 'multiStagedAttack',
    serviceSource: 'microsoftDefenderForEndpoint',
    detectionSource: 'antivirus',
    detectorId: '7f1c1b55-2a0c-4c9e-a0d6-5a7cfbd1f0ee',
    tenantId: tenant,
    title: 'Suspicious PowerShell command line',
    description: 'A PowerShell process ran an encoded command.',
    recommendedActions: 'Isolate the device.',
    category: 'Execution',
    assignedTo: 'analyst@fabrikam.example',
    alertWebUrl: 'https://security.microsoft.com/alerts/da638123456789012345_-1122334455?tid=x',
    incidentWebUrl: 'https://security.microsoft.com/incidents/2417?tid=x',
    threatDisplayName: 'Kovter',
    threatFamilyName: 'Kovter',
    mitreTechniques: ['T1059.001', 'T1027', 'T1059.001'],
    createdDateTime: '2026-11-20T09:41:02.3311111Z',
    lastUpdateDateTime: '2026-11-20T09:58:12.4455667Z',
    resolvedDateTime: null,
    firstActivityDateTime: '2026-11-20T09:30:00.0000001Z',
    lastActivityDateTime: '2026-11-20T09:40:59.9999999Z',
    comments: [{ comment: 'looking', createdByDisplayName: 'analyst', createdDateTime: '2026-11-20T09:50:00Z' }],
    evidence: [
      { '@odata.type': '#microsoft.graph.security.deviceEvidence', deviceDnsName: 'ws-fin-014.fabrikam.example', mdeDeviceId: '1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5', osPlatform: 'Windows11' },
      { '@odata.type': '#microsoft.graph.security.userEvidence', userAccount: { accountName: 'megan', domainName: 'FABRIKAM', userPrincipalName: 'megan@fabrikam.example', azureAdUserId: '0a0a0a0a-1b1b-4c4c-8d8d-2e2e2e2e2e2e', userSid: 'S-1-5-21-1-2-3-1104' } },
      { '@odata.type': '#microsoft.graph.security.ipEvidence', ipAddress: '2001:DB8::7' },
      { '@odata.type': '#microsoft.graph.security.urlEvidence', url: 'https://invoice-view.example/a1' },
      { '@odata.type': '#microsoft.graph.security.ipEvidence', ipAddress: '198.51.100.9' },
    ],
    systemTags: ['Defender Experts'],
    ...overrides,
  };
}

function sampleIncident(alerts: Record<string, unknown>[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '2417',
    tenantId: tenant,
    status: 'active',
    incidentWebUrl: 'https://security.microsoft.com/incidents/2417?tid=x',
    redirectIncidentId: null,
    displayName: 'Multi-stage incident involving Execution & Initial access on one endpoint',
    description: null,
    severity: 'medium',
    assignedTo: null,
    classification: 'unknown',
    determination: 'unknown',
    createdDateTime: '2026-11-20T09:45:00.1000000Z',
    lastUpdateDateTime: '2026-11-20T09:59:00.7654321Z',
    customTags: ['finance'],
    systemTags: [],
    comments: [],
    alerts,
    ...overrides,
  };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Normalizes and proves the event serializes, as the publisher needs. */
function normalize(entity: unknown, ctx: DefenderContext = alertContext): DefenderEvent {
  const event = normalizeDefender(entity, ctx);
  expect(() => JSON.stringify(event)).not.toThrow();
  return event;
}

describe('normalizeDefender: alerts', () => {
  it('maps an alert to ASIM AlertEvent fields with the envelope conventions', () => {
    const entity = sampleAlert();
    const event = normalize(entity);
    expect(event).toMatchObject({
      EnvelopeSchema: 'm365.audit.normalized',
      EnvelopeVersion: '1.0.0',
      EventOriginalUid: entity.id,
      TimeGenerated: '2026-11-20T09:58:12.445Z',
      EventStartTime: '2026-11-20T09:30:00.000Z',
      EventEndTime: '2026-11-20T09:40:59.999Z',
      ProcessedTime: alertContext.processedTime,
      Source: 'DefenderXDR',
      SourceContentType: 'DefenderXDR.Alerts',
      SourceContentId: alertContext.pageId,
      OrganizationId: tenant,
      EventVendor: 'Microsoft',
      EventProduct: 'Microsoft Defender for Endpoint',
      Dvc: 'Microsoft Defender for Endpoint',
      EventOriginalType: 'Alert',
      EventSchema: 'AlertEvent',
      EventSchemaVersion: '0.1',
      EventType: 'Alert',
      EventSubType: 'Threat',
      EventResult: 'NA',
      EventCount: 1,
      EventSeverity: 'High',
      EventOriginalSeverity: 'high',
      EventReportUrl: entity.alertWebUrl,
      IncidentId: '2417',
      IncidentUrl: entity.incidentWebUrl,
      AlertId: entity.id,
      AlertName: 'Suspicious PowerShell command line',
      AlertDescription: 'A PowerShell process ran an encoded command.',
      AlertStatus: 'Active',
      AlertOriginalStatus: 'inProgress',
      AlertVerdict: 'True Positive',
      DetectionMethod: 'antivirus',
      ThreatCategory: 'Execution',
      ThreatName: 'Kovter',
      AttackTactics: 'Execution',
      AttackTechniques: 'T1059.001, T1027',
      DvcHostname: 'ws-fin-014.fabrikam.example',
      DvcId: '1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5',
      DvcOs: 'Windows11',
      Username: 'megan@fabrikam.example',
      UserId: '0a0a0a0a-1b1b-4c4c-8d8d-2e2e2e2e2e2e',
      UserIdType: 'AADID',
      IpAddr: '2001:db8::7',
      Url: 'https://invoice-view.example/a1',
      RawTruncated: false,
    });
    expect(event.Raw).toEqual(entity);
    expect(event.RawSha256).toBe(sha256(JSON.stringify(entity)));
    expect(event.RawSizeBytes).toBe(Buffer.byteLength(JSON.stringify(entity)));
    expect(event.ParseWarnings).toBeUndefined();
    expect({ ...event.AdditionalFields }).toEqual({
      LastUpdateDateTime: '2026-11-20T09:58:12.4455667Z',
      Classification: 'truePositive',
      Determination: 'multiStagedAttack',
      CommentCount: 1,
      ServiceSource: 'microsoftDefenderForEndpoint',
      ThreatFamilyName: 'Kovter',
      EvidenceCount: 5,
      EvidenceTypes: ['deviceEvidence', 'userEvidence', 'ipEvidence', 'urlEvidence'],
      ProviderAlertId: entity.providerAlertId,
      DetectorId: entity.detectorId,
      RecommendedActions: 'Isolate the device.',
      AssignedTo: 'analyst@fabrikam.example',
      CreatedDateTime: '2026-11-20T09:41:02.3311111Z',
      SystemTags: ['Defender Experts'],
    });
  });

  it('gives each revision its own EventId, the same one when read again, derived from tenant, kind, id and lastUpdateDateTime', () => {
    const entity = sampleAlert();
    const event = normalize(entity);
    expect(event.EventId).toBe(uuidV5(`DefenderXDR|${tenant}|alert:${entity.id}|2026-11-20T09:58:12.4455667Z`, EVENT_ID_NAMESPACE));
    expect(normalize(structuredClone(entity), { ...alertContext, tenantId: tenant, pageId: 'another page', processedTime: '2026-11-21T00:00:00.000Z' }).EventId).toBe(event.EventId);
    expect(normalize(sampleAlert({ lastUpdateDateTime: '2026-11-20T09:58:12.4455668Z' })).EventId).not.toBe(event.EventId);
    expect(normalize(sampleAlert({ id: '2417' }), incidentContext).EventId).not.toBe(normalize(sampleAlert({ id: '2417' })).EventId);
  });

  it.each([
    ['new', 'Active'],
    ['inProgress', 'Active'],
    ['unknownFutureValue', 'Active'],
    ['resolved', 'Closed'],
  ] as const)('alert status %s is %s', (status, expected) => {
    expect(normalize(sampleAlert({ status }))).toMatchObject({ AlertStatus: expected, AlertOriginalStatus: status });
  });

  it.each([
    [{ classification: 'truePositive', determination: 'unknown' }, 'True Positive'],
    [{ classification: 'falsePositive', determination: 'notMalicious' }, 'False Positive'],
    [{ classification: 'informationalExpectedActivity', determination: 'securityTesting' }, 'Benign Positive'],
    [{ classification: 'unknown', determination: 'phishing' }, 'True Positive'],
    [{ classification: null, determination: 'lineOfBusinessApplication' }, 'Benign Positive'],
    [{ classification: 'unknown', determination: 'notEnoughDataToValidate' }, 'False Positive'],
    [{ classification: 'unknown', determination: 'unknown' }, 'Unknown'],
    [{ classification: undefined, determination: undefined }, 'Unknown'],
  ])('verdict of %o is %s', (fields, verdict) => {
    expect(normalize(sampleAlert(fields)).AlertVerdict).toBe(verdict);
  });

  it.each([
    ['informational', 'Informational'],
    ['low', 'Low'],
    ['medium', 'Medium'],
    ['high', 'High'],
    ['unknown', 'Informational'],
    ['critical', 'Informational'],
  ] as const)('severity %s is %s, the original kept', (severity, expected) => {
    expect(normalize(sampleAlert({ severity }))).toMatchObject({ EventSeverity: expected, EventOriginalSeverity: severity });
  });

  it('tells compliance violations and suspicious activity from threats, and names unknown products as they are', () => {
    expect(normalize(sampleAlert({ serviceSource: 'dataLossPrevention', detectionSource: 'microsoftDataLossPrevention', category: 'Exfiltration' }))).toMatchObject({
      EventSubType: 'Compliance Violation',
      EventProduct: 'Microsoft Purview Data Loss Prevention',
      AttackTactics: 'Exfiltration',
    });
    expect(normalize(sampleAlert({ category: 'SuspiciousActivity' }))).toMatchObject({ EventSubType: 'Suspicious Activity', ThreatCategory: 'SuspiciousActivity' });
    const malware = normalize(sampleAlert({ category: 'Malware', serviceSource: 'microsoftDefenderForQuantum' }));
    expect(malware).toMatchObject({ EventSubType: 'Threat', ThreatCategory: 'Malware', EventProduct: 'microsoftDefenderForQuantum' });
    expect(malware.AttackTactics).toBeUndefined();
    expect(normalize(sampleAlert({ serviceSource: undefined })).EventProduct).toBe('Microsoft Defender XDR');
  });

  it('keeps the stream tenant as OrganizationId and records an entity that names another', () => {
    const event = normalize(sampleAlert({ tenantId: '99999999-9999-4999-8999-999999999999' }));
    expect(event.OrganizationId).toBe(tenant);
    expect(event.AdditionalFields?.RecordOrganizationId).toBe('99999999-9999-4999-8999-999999999999');
    expect(event.ParseWarnings).toEqual(["the alert names tenant 99999999-9999-4999-8999-999999999999, not the stream's tenant"]);
  });

  it('takes a user without a UPN as DOMAIN\\name and identifies it by SID when there is no Entra id', () => {
    const event = normalize(sampleAlert({ evidence: [{ '@odata.type': '#microsoft.graph.security.userEvidence', userAccount: { accountName: 'svc-backup', domainName: 'FABRIKAM', userSid: 'S-1-5-21-9-9-9-500' } }] }));
    expect(event).toMatchObject({ Username: 'FABRIKAM\\svc-backup', UserId: 'S-1-5-21-9-9-9-500', UserIdType: 'SID' });
  });
});

describe('normalizeDefender: incidents', () => {
  it('carries its alerts by id and leaves them out of Raw; tactics, techniques and activity span come from its alerts', () => {
    const first = sampleAlert({ id: 'a-1', category: 'InitialAccess', mitreTechniques: ['T1566.002'], firstActivityDateTime: '2026-11-20T08:00:00Z', lastActivityDateTime: '2026-11-20T08:10:00Z' });
    const second = sampleAlert({ id: 'a-2', category: 'Execution', mitreTechniques: ['T1059.001'], firstActivityDateTime: '2026-11-20T09:00:00Z', lastActivityDateTime: '2026-11-20T09:20:00Z' });
    const third = sampleAlert({ id: 'a-3', category: 'Malware', mitreTechniques: ['T1566.002'] });
    const entity = sampleIncident([first, second, third]);
    const event = normalize(entity, incidentContext);
    const { alerts: _alerts, ...withoutAlerts } = entity;
    expect(event).toMatchObject({
      EventOriginalUid: '2417',
      IncidentId: '2417',
      SourceContentType: 'DefenderXDR.Incidents',
      EventOriginalType: 'Incident',
      EventProduct: 'Microsoft Defender XDR',
      AlertName: entity.displayName,
      AlertIds: ['a-1', 'a-2', 'a-3'],
      AlertStatus: 'Active',
      AlertVerdict: 'Unknown',
      EventSeverity: 'Medium',
      ThreatCategory: 'InitialAccess, Execution, Malware',
      AttackTactics: 'InitialAccess, Execution',
      AttackTechniques: 'T1566.002, T1059.001',
      TimeGenerated: '2026-11-20T09:59:00.765Z',
      EventStartTime: '2026-11-20T08:00:00.000Z',
      EventEndTime: '2026-11-20T09:40:59.999Z',
      EventReportUrl: entity.incidentWebUrl,
      IncidentUrl: entity.incidentWebUrl,
    });
    expect(event.AlertId).toBeUndefined();
    expect(event.Raw).toEqual(withoutAlerts);
    expect(event.RawSha256).toBe(sha256(JSON.stringify(withoutAlerts)));
    expect(event.EventId).toBe(uuidV5(`DefenderXDR|${tenant}|incident:2417|2026-11-20T09:59:00.7654321Z`, EVENT_ID_NAMESPACE));
    expect(event.AdditionalFields).toMatchObject({ AlertCount: 3, CustomTags: ['finance'], CreatedDateTime: '2026-11-20T09:45:00.1000000Z' });
  });

  it('starts at createdDateTime without alerts, and a merged (redirected) incident is closed, naming where it went', () => {
    const event = normalize(sampleIncident([], { status: 'redirected', redirectIncidentId: '2500', alerts: undefined }), incidentContext);
    expect(event).toMatchObject({ AlertStatus: 'Closed', AlertOriginalStatus: 'redirected', EventStartTime: '2026-11-20T09:45:00.100Z', EventEndTime: '2026-11-20T09:59:00.765Z' });
    expect(event.AlertIds).toBeUndefined();
    expect(event.AdditionalFields?.RedirectIncidentId).toBe('2500');
  });

  it.each([
    ['active', 'Active'],
    ['inProgress', 'Active'],
    ['awaitingAction', 'Active'],
    ['resolved', 'Closed'],
    ['redirected', 'Closed'],
  ] as const)('incident status %s is %s', (status, expected) => {
    expect(normalize(sampleIncident([], { status }), incidentContext).AlertStatus).toBe(expected);
  });
});

describe('normalizeDefender: hostile input', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([null, 42, 'an alert', true, [], [sampleAlert()]])('turns %j into an event with a warning, never an exception', (value) => {
    const event = normalize(value);
    expect(event).toMatchObject({ EventOriginalUid: null, TimeGenerated: alertContext.processedTime, AlertStatus: 'Active', AlertVerdict: 'Unknown', Raw: value });
    expect(event.ParseWarnings![0]).toMatch(/^alert is not a JSON object/);
    expect(event.EventId).toBe(uuidV5(`DefenderXDR|${tenant}|alert:sha256:${sha256(JSON.stringify(value))}`, EVENT_ID_NAMESPACE));
  });

  it('survives undefined and a function: Raw is null', () => {
    expect(normalize(undefined)).toMatchObject({ Raw: null, RawSha256: sha256('null') });
    expect(normalize(() => 1).Raw).toBeNull();
  });

  it('cannot pollute prototypes through __proto__ or constructor keys', () => {
    const proto = '{"polluted":"yes"}';
    const text = JSON.stringify(sampleAlert()).replace('"id":', `"__proto__":${proto},"constructor":{"prototype":${proto}},"id":`);
    const incidentText = JSON.stringify(sampleIncident([])).replace('"id":', `"__proto__":${proto},"id":`).replace('"alerts":[]', `"alerts":[{"__proto__":${proto},"id":"x"}]`);
    const event = normalize(JSON.parse(text));
    const incident = normalize(JSON.parse(incidentText), incidentContext);
    expect(Object.getPrototypeOf(event.AdditionalFields)).toBeNull();
    expect(event.AdditionalFields!.__proto__).toEqual({ polluted: 'yes' });
    expect(JSON.stringify(incident.Raw)).toContain('"__proto__":{"polluted":"yes"}');
    expect(incident.AlertIds).toEqual(['x']);
  });

  it('survives an entity nested 10,000 levels deep: Raw keeps its JSON text', () => {
    const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
    const text = `{"id":"deep","lastUpdateDateTime":"2026-11-20T10:00:00Z","additionalData":${deep}}`;
    const event = normalize(JSON.parse(text));
    expect(event.Raw).toBe(text);
    expect(event.EventOriginalUid).toBe('deep');
    expect(event.ParseWarnings).toEqual(['alert nests deeper than 512 levels; Raw holds its JSON text', 'additionalData nests deeper than 512 levels; left in Raw only']);
  });

  it('bounds strings and lists, and keeps what is not what it claims out of the typed fields', () => {
    const alerts = Array.from({ length: 300 }, (_, i) => ({ id: `a${i}` }));
    const incident = normalize(sampleIncident(alerts, { displayName: 'x'.repeat(100_000) }), incidentContext);
    expect(incident.AlertIds).toHaveLength(256);
    expect(incident.AlertName).toHaveLength(8192);
    expect(incident.AdditionalFields?.AlertCount).toBe(300);
    expect(incident.ParseWarnings).toEqual(['displayName cut to 8192 characters (Raw has it whole)', 'alerts: kept the first 256 of 300 entries']);

    const event = normalize(
      sampleAlert({
        alertWebUrl: 'javascript:alert(1)',
        mitreTechniques: 'T1059',
        evidence: [{ '@odata.type': '#microsoft.graph.security.ipEvidence', ipAddress: 'not-an-ip' }, 7, null, { noType: true }, { '@odata.type': { nested: 1 } }],
        category: { name: 'Execution' },
      }),
    );
    expect(event.EventReportUrl).toBeUndefined();
    expect(event.AttackTechniques).toBeUndefined();
    expect(event.IpAddr).toBeUndefined();
    expect(event.ThreatCategory).toBeUndefined();
    expect(event.ParseWarnings).toEqual([
      'alertWebUrl is not an https URL; left in Raw',
      'category is not a string',
      'ipEvidence.ipAddress is not an IP address: not-an-ip',
      'evidence[].@odata.type is not a string',
    ]);
  });

  it('without a usable lastUpdateDateTime: TimeGenerated is ProcessedTime and the EventId derives from the content', () => {
    const entity = sampleAlert({ lastUpdateDateTime: '20 Nov 2026', firstActivityDateTime: undefined, lastActivityDateTime: undefined });
    const event = normalize(entity);
    expect(event).toMatchObject({ TimeGenerated: alertContext.processedTime, EventStartTime: alertContext.processedTime, EventOriginalUid: entity.id });
    expect(event.EventId).toBe(uuidV5(`DefenderXDR|${tenant}|alert:sha256:${sha256(JSON.stringify(entity))}`, EVENT_ID_NAMESPACE));
    expect(event.ParseWarnings).toEqual(['alert has no lastUpdateDateTime; EventId derives from RawSha256', 'lastUpdateDateTime is missing or not a timestamp; TimeGenerated is ProcessedTime']);
  });
});

describe('lastUpdateOf', () => {
  it('returns the timestamp exactly as Graph wrote it, or nothing', () => {
    expect(lastUpdateOf({ lastUpdateDateTime: '2026-11-20T10:00:00.1234567Z' })).toBe('2026-11-20T10:00:00.1234567Z');
    expect(lastUpdateOf({ lastUpdateDateTime: '2026-11-20T10:00:00' })).toBeUndefined();
    expect(lastUpdateOf({ lastUpdateDateTime: 1_795_168_800_000 })).toBeUndefined();
    expect(lastUpdateOf(JSON.parse('{"__proto__":{"lastUpdateDateTime":"2026-11-20T10:00:00Z"}}'))).toBeUndefined();
    expect(lastUpdateOf(null)).toBeUndefined();
  });
});
