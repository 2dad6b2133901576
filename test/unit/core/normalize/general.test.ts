import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../../../../shared/core/normalize/index.js';
import { context, normalizeFixture } from './records.js';

describe('DLP records', () => {
  it('maps a SharePoint DLP match: the file is the object, the highest rule severity wins', () => {
    const event = normalizeFixture('dlp.ndjson', 'aa11bb22-cc33-4d44-8e55-ff6600778899');
    expect(event).toMatchObject({
      RecordTypeName: 'ComplianceDLPSharePoint',
      EventSchema: 'AuditEvent',
      EventType: 'Other',
      EventResult: 'NA',
      EventSeverity: 'High',
      ActorUsername: 'DlpPolicyEventBasedAssistant',
      ActorUserType: 'System',
      Object: 'https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/Q2/Budget.xlsx',
      OriginalObjectType: 'File',
      TargetUrl: 'https://contoso.sharepoint.com/sites/Finance',
    });
    expect({ ...event.AdditionalFields }).toMatchObject({
      DlpPolicies: ['Finance data'],
      DlpRules: ['Low volume of financial data', 'High volume of financial data'],
      DlpActions: ['NotifyUser', 'BlockAccess'],
      FileName: 'Budget.xlsx',
      From: 'bob@contoso.com',
      IncidentId: '3066c3c5-eb56-dd03-b000-08dc11223344',
    });
  });

  it('maps an Exchange DLP match: the message is the object, sender and recipients kept, ExceptionInfo decoded', () => {
    const event = normalizeFixture('dlp.ndjson', 'bb22cc33-dd44-4e55-8f66-007788990011');
    expect(event).toMatchObject({
      RecordTypeName: 'ComplianceDLPExchange',
      EventSeverity: 'Medium',
      ActorUsername: 'DlpAgent',
      Object: '<PH0PR11MB1234@PH0PR11MB1234.namprd11.prod.outlook.com>',
      OriginalObjectType: 'Email',
    });
    expect({ ...event.AdditionalFields }).toMatchObject({
      Sender: 'alice@contoso.com',
      Recipients: ['partner@fabrikam.com', 'carol@contoso.com'],
      DlpRules: ['Customer records to external'],
      ExceptionInfo: { Reason: 'Override', Justification: 'Business need' },
    });
  });
});

describe('other workloads', () => {
  it('maps a Security & Compliance alert and decodes its stringly JSON Data', () => {
    const event = normalizeFixture('general.ndjson', 'c0ffee00-1111-4222-8333-444455556666');
    expect(event).toMatchObject({
      RecordTypeName: 'SecurityComplianceAlerts',
      EventSeverity: 'Medium',
      Object: 'Suspicious email forwarding activity',
      ObjectId: '5ba6e029-8b6e-13bd-b800-08dc99887766',
      OriginalObjectType: 'Alert',
    });
    expect({ ...event.AdditionalFields }).toMatchObject({
      Data: { f3u: 'alice@contoso.com', op: 'New-InboxRule', wl: 'Exchange', sev: 'Medium' },
      AlertId: '5ba6e029-8b6e-13bd-b800-08dc99887766',
      AlertName: 'Suspicious email forwarding activity',
      Status: 'Active',
      Category: 'ThreatManagement',
      AlertLinks: ['https://security.microsoft.com/viewalerts?id=5ba6e029'],
    });
    expect(event.ParseWarnings).toBeUndefined();
  });

  it('maps a Teams member addition: the channel is the object, the added member the target', () => {
    const event = normalizeFixture('general.ndjson', 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6');
    expect(event).toMatchObject({
      EventProduct: 'Teams',
      EventType: 'Create',
      ActorUsername: 'admin@contoso.com',
      ActorUserIdType: 'AADID',
      TargetUsername: 'dave@fabrikam.com',
      Object: 'Project Falcon/General',
      ObjectId: '19:f6e5d4c3b2a1@thread.tacv2',
      OriginalObjectType: 'Channel',
    });
    expect({ ...event.AdditionalFields }).toMatchObject({ Members: ['dave@fabrikam.com'], TeamName: 'Project Falcon' });
  });

  it('maps a Power BI record and flattens its stringly OperationProperties', () => {
    const event = normalizeFixture('general.ndjson', 'e2f3a4b5-c6d7-4e8f-9a01-b2c3d4e5f6a7');
    expect(event).toMatchObject({
      RecordTypeName: 'PowerBIAudit',
      EventType: 'Create',
      // InProgress is neither success nor failure.
      EventResult: 'NA',
      EventOriginalResultDetails: 'InProgress',
      Object: 'sales_lakehouse',
      OriginalObjectType: 'Lakehouse',
      SrcIpAddr: '198.51.100.60',
    });
    expect({ ...event.AdditionalFields }).toMatchObject({
      SystemArtifactType: 'None',
      IsDefault: true,
      WorkspaceName: 'Sales',
      Experience: 'Lakehouse',
    });
    expect(event.ParseWarnings).toBeUndefined();
  });

  it('keeps a record of an unknown RecordType, names it Unknown(n) and says so', () => {
    const event = normalizeFixture('general.ndjson', 'f3a4b5c6-d7e8-4f90-8b12-c3d4e5f6a7b8');
    expect(event).toMatchObject({
      RecordType: 9999,
      RecordTypeName: 'Unknown(9999)',
      EventProduct: 'Copilot',
      Operation: 'AgentInvoked',
      EventSchema: 'AuditEvent',
      EventType: 'Other',
      EventResult: 'Success',
      ActorUsername: 'bob@contoso.com',
      SrcIpAddr: '192.0.2.150',
    });
    expect(event.ParseWarnings).toEqual(['unknown RecordType 9999']);
  });
});

describe('JSON carried in strings', () => {
  const base = { Id: 'a1', CreationTime: '2024-06-07T15:00:40', RecordType: 20, Operation: 'ViewReport', Workload: 'PowerBI' };

  it('decodes AdditionalInfo and Data when they are JSON, and keeps plain text as it is', () => {
    const decoded = normalizeRecord({ ...base, AdditionalInfo: '{"Reason":"Scheduled","Attempts":2}', Data: '[1,2]' }, context);
    expect({ ...decoded.AdditionalFields }).toMatchObject({ AdditionalInfo: { Reason: 'Scheduled', Attempts: 2 }, Data: [1, 2] });
    const text = normalizeRecord({ ...base, AdditionalInfo: 'scheduled refresh' }, context);
    expect(text.AdditionalFields?.AdditionalInfo).toBe('scheduled refresh');
    expect(text.ParseWarnings).toBeUndefined();
  });

  it('keeps JSON-looking text that does not parse, with a warning', () => {
    const event = normalizeRecord({ ...base, Data: '{"etype":"User","eid":' }, context);
    expect(event.AdditionalFields?.Data).toBe('{"etype":"User","eid":');
    expect(event.ParseWarnings).toEqual(['Data looks like JSON but does not parse; kept as text']);
  });

  it('flattens ExtendedProperties and DeviceProperties sent as JSON strings', () => {
    const event = normalizeRecord(
      {
        ...base,
        ExtendedProperties: '[{"Name":"RequestType","Value":"Login:login"}]',
        DeviceProperties: '{"OS":"Windows 10","IsCompliant":"True"}',
      },
      context,
    );
    expect({ ...event.AdditionalFields }).toEqual({ RequestType: 'Login:login', OS: 'Windows 10', IsCompliant: true });
    expect(event.ParseWarnings).toBeUndefined();
  });
});
