import { describe, expect, it } from 'vitest';
import { normalizeFixture } from './records.js';

const FILE = 'exchange.ndjson';

describe('Exchange records', () => {
  it.each([
    {
      name: 'admin cmdlet run by a system account through an app',
      id: '0b5e2d3c-1a4f-4e6b-9c8d-7e6f5a4b3c21',
      expected: {
        RecordType: 1,
        RecordTypeName: 'ExchangeAdmin',
        EventSchema: 'AuditEvent',
        EventSchemaVersion: '0.1.2',
        EventType: 'Set',
        EventResult: 'Success',
        EventOriginalResultDetails: 'True',
        EventSeverity: 'Informational',
        EventProduct: 'Exchange 365',
        Dvc: 'Exchange 365',
        ActorUsername: 'NT AUTHORITY\\SYSTEM',
        ActorUsernameType: 'Windows',
        ActingAppName: 'Microsoft.Exchange.ServiceHost',
        ActorUserType: 'Admin',
        ActorOriginalUserType: 'DCAdmin',
        ActorScope: 'contoso.onmicrosoft.com',
        SrcIpAddr: '2001:db8:10::5',
        SrcPortNumber: 51234,
        SrcIpAddrOriginal: '[2001:db8:10::5]:51234',
        TargetAppName: 'Exchange 365',
        TargetAppType: 'SaaS application',
        Object: 'alice',
        OriginalObjectType: 'Mailbox',
      },
      additional: {
        OriginatingServer: 'AM6PR01MB1234',
        Parameters: { Identity: 'alice@contoso.com', LitigationHoldEnabled: true, DomainController: null },
        ExternalAccess: true,
      },
    },
    {
      name: 'failed admin cmdlet with Parameters as a JSON string',
      id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
      expected: {
        EventType: 'Create',
        EventResult: 'Failure',
        EventOriginalResultDetails: 'False',
        EventSeverity: 'Low',
        ActorUsername: 'admin@contoso.com',
        ActorUsernameType: 'UPN',
        ActorUserId: '1003BFFD9A8B7C6D',
        ActorUserIdType: 'PUID',
        SrcIpAddr: '198.51.100.77',
        SrcPortNumber: 443,
        Object: 'alice@contoso.com\\Forward to fabrikam',
        ObjectType: 'Policy Rule',
        OriginalObjectType: 'InboxRule',
      },
      additional: { Parameters: { ForwardTo: 'mallory@fabrikam.com', Name: 'Forward to fabrikam' }, ExternalAccess: false },
    },
    {
      name: 'mailbox item update with ModifiedProperties as a list of strings',
      id: '4c3b2a19-0f8e-4d7c-b6a5-948372615f0e',
      expected: {
        RecordTypeName: 'ExchangeItem',
        EventType: 'Set',
        EventResult: 'Success',
        ActorUsername: 'alice@contoso.com',
        ActorUserSid: 'S-1-5-21-1111111111-2222222222-3333333333-4444',
        ActingAppName: 'Client=OWA;Action=ViaProxy',
        TargetUsername: 'alice@contoso.com',
        TargetUsernameType: 'UPN',
        SrcIpAddr: '2001:db8:44::9',
        Object: 'alice@contoso.com\\Drafts',
        OriginalObjectType: 'MailboxItem',
      },
      additional: {
        OriginatingServer: 'DB7PR04MB5678',
        ModifiedProperties: ['HtmlBody', 'Subject'],
        MailboxOwnerUPN: 'alice@contoso.com',
        MailboxGuid: 'c2d3e4f5-a6b7-4c8d-9e0f-a1b2c3d4e5f6',
        LogonType: 'Owner',
        FolderPaths: ['\\Drafts'],
        InternetMessageIds: ['<b1c2d3@DB7PR04MB5678.eurprd04.prod.outlook.com>'],
      },
    },
    {
      name: 'aggregated MailItemsAccessed over two folders',
      id: 'e7f6d5c4-b3a2-4190-8f7e-6d5c4b3a2910',
      expected: {
        RecordType: 50,
        RecordTypeName: 'ExchangeItemAggregated',
        EventType: 'Read',
        EventSubType: 'Bind',
        EventCount: 3,
        ActorUsername: 'bob@contoso.com',
        ActorSessionId: '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d',
        ActingAppId: '27922004-5251-4030-b22d-91ecd9a37ea4',
        ActingAppName: 'Client=OutlookService;Outlook-Android/2.0;',
        SrcIpAddr: '2001:db8:ab:cd::1f',
        SrcIpAddrOriginal: '2001:DB8:AB:CD::1F',
        TargetUsername: 'bob@contoso.com',
        TargetAppId: '00000002-0000-0ff1-ce00-000000000000',
        Object: 'bob@contoso.com',
        OriginalObjectType: 'Mailbox',
      },
      additional: {
        MailAccessType: 'Bind',
        IsThrottled: false,
        OperationCount: 3,
        OriginatingServer: 'AM0PR02MB9999',
        FolderPaths: ['\\Inbox', '\\Inbox\\Finance'],
        InternetMessageIds: [
          '<m1@AM0PR02MB9999.eurprd02.prod.outlook.com>',
          '<m2@AM0PR02MB9999.eurprd02.prod.outlook.com>',
          '<m3@AM0PR02MB9999.eurprd02.prod.outlook.com>',
        ],
      },
    },
  ])('$name', ({ id, expected, additional }) => {
    const event = normalizeFixture(FILE, id);
    expect(event).toMatchObject({ EventOriginalUid: id, ...expected });
    expect({ ...event.AdditionalFields }).toMatchObject(additional);
    expect(event.ParseWarnings).toBeUndefined();
  });

  it('does not repeat ClientIPAddress when it names the same address as ClientIP', () => {
    const event = normalizeFixture(FILE, '4c3b2a19-0f8e-4d7c-b6a5-948372615f0e');
    expect(event.AdditionalFields).not.toHaveProperty('ClientIPAddress');
  });
});
