import { describe, expect, it } from 'vitest';
import { normalizeFixture, TENANT } from './records.js';

const FILE = 'entra.ndjson';

describe('Microsoft Entra records', () => {
  it('maps a directory audit (Add user.) from the Actor and Target lists', () => {
    const event = normalizeFixture(FILE, '1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b');
    expect(event).toMatchObject({
      RecordTypeName: 'AzureActiveDirectory',
      EventSchema: 'AuditEvent',
      EventType: 'Create',
      EventResult: 'Success',
      EventProduct: 'Microsoft Entra ID',
      ActorUsername: 'admin@contoso.com',
      ActorUserId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      ActorUserIdType: 'AADID',
      ActorUserPuid: '1003BFFDAABBCCDD',
      ActingAppName: 'Microsoft Azure Portal',
      ActingAppId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
      ActorScopeId: TENANT,
      // ClientIP is empty on these records; ActorIpAddress carries the address.
      SrcIpAddr: '192.0.2.44',
      TargetUsername: 'carol@contoso.com',
      TargetUserId: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
      TargetUserPuid: '1003BFFDEEFF0011',
      Object: 'carol@contoso.com',
      ObjectId: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
      ObjectType: 'Directory Service Object',
      OriginalObjectType: 'User',
    });
    const additional = event.AdditionalFields!;
    expect({ ...(additional.ModifiedProperties as object) }).toEqual({
      AccountEnabled: { OldValue: '[]', NewValue: '[\r\n  true\r\n]' },
      UserPrincipalName: { OldValue: '[]', NewValue: '[\r\n  "carol@contoso.com"\r\n]' },
    });
    expect(additional).toMatchObject({ extendedAuditEventCategory: 'User', InterSystemsId: '11111111-2222-4333-8444-555555555555' });
    // Two changes: no single OldValue/NewValue to promote.
    expect(event.NewValue).toBeUndefined();
  });

  it('maps a successful sign-in to ASIM Authentication with the user as the target', () => {
    const event = normalizeFixture(FILE, 'CA0EFC24-1B89-4962-8FEF-A3AC54373001');
    expect(event).toMatchObject({
      EventOriginalUid: 'CA0EFC24-1B89-4962-8FEF-A3AC54373001',
      TimeGenerated: '2024-06-05T08:59:02.123Z',
      RecordTypeName: 'AzureActiveDirectoryStsLogon',
      EventSchema: 'Authentication',
      EventSchemaVersion: '0.1.3',
      EventType: 'Logon',
      EventResult: 'Success',
      EventOriginalResultDetails: 'ErrorCode=0; ResultStatusDetail=Success',
      TargetUsername: 'bob@contoso.com',
      TargetUsernameType: 'UPN',
      TargetUserId: '5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f',
      TargetUserIdType: 'AADID',
      TargetUserAadId: '5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f',
      TargetUserPuid: '1003BFFD55667788',
      TargetUserType: 'Regular',
      TargetUserScopeId: TENANT,
      TargetSessionId: '0f1d3e7a-2c4b-4e59-9a6e-1b2c3d4e5f60',
      TargetAppId: '89bee1f7-5e6e-4d8a-9f3d-ecd601259da7',
      TargetAppType: 'SaaS application',
      LogonProtocol: 'OAuth2:Authorize',
      SrcDvcOs: 'MacOs',
      SrcIpAddr: '198.51.100.8',
      HttpUserAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Firefox/126.0',
      Object: '00000003-0000-0000-c000-000000000000',
      OriginalObjectType: 'ResourceApplication',
    });
    expect({ ...event.AdditionalFields }).toEqual({
      ResourceAppId: '00000003-0000-0000-c000-000000000000',
      ErrorCode: '0',
      InterSystemsId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      IntraSystemId: 'ffffffff-0000-4111-8222-333333333333',
      ResultStatusDetail: 'Success',
      UserAuthenticationMethod: '1',
      KeepMeSignedIn: false,
      BrowserType: 'Firefox',
      IsCompliantAndManaged: false,
    });
    // The signing-in user is the target, so no actor is reported (ASIM: actor only if different).
    for (const field of ['ActorUsername', 'ActorUserId', 'ActorUserType', 'ActorScopeId', 'TargetAppName'] as const) {
      expect(event[field]).toBeUndefined();
    }
    expect(event.EventResultDetails).toBeUndefined();
  });

  it('maps a failed sign-in from Operation and the AADSTS ErrorCode, not from ResultStatus', () => {
    const event = normalizeFixture(FILE, '7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e');
    expect(event).toMatchObject({
      RecordType: 15,
      EventSchema: 'Authentication',
      EventResult: 'Failure',
      EventResultDetails: 'No such user or password',
      EventOriginalResultDetails: 'ErrorCode=50126; LogonError=InvalidUserNameOrPassword; ResultStatusDetail=Success',
      TargetUsername: 'bob@contoso.com',
      TargetUserId: '5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f',
      LogonProtocol: 'OrgIdWsTrust2:process',
      HttpUserAgent: 'python-requests/2.31',
      SrcIpAddr: '203.0.113.200',
    });
    expect({ ...event.AdditionalFields }).toMatchObject({ ErrorCode: '50126', LogonError: 'InvalidUserNameOrPassword' });
  });
});
