import { describe, expect, it } from 'vitest';
import { normalizeFixture } from './records.js';

const FILE = 'sharepoint.ndjson';

describe('SharePoint and OneDrive records', () => {
  it('maps a file download to an ASIM FileEvent', () => {
    const event = normalizeFixture(FILE, '3d6a2f1e-6b1f-4d3c-9c55-08dc73f0b101');
    expect(event).toMatchObject({
      RecordTypeName: 'SharePointFileOperation',
      EventSchema: 'FileEvent',
      EventSchemaVersion: '0.2.1',
      EventType: 'FileAccessed',
      EventSubType: 'Download',
      // No ResultStatus on the record: the operation happened.
      EventResult: 'Success',
      EventProduct: 'SharePoint',
      ActorUsername: 'bob@contoso.com',
      ActorUserId: 'i:0h.f|membership|1003bffd55667788@live.com',
      ActorUserIdType: 'Other',
      SrcIpAddr: '203.0.113.23',
      HttpUserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/125.0',
      TargetUrl: 'https://contoso.sharepoint.com/sites/Finance/',
      TargetFilePath: 'https://contoso.sharepoint.com/sites/Finance/Shared Documents/Q2/Budget.xlsx',
      TargetFilePathType: 'URL',
      TargetFileName: 'Budget.xlsx',
      TargetFileExtension: 'xlsx',
      TargetFileDirectory: 'Shared Documents/Q2',
      Object: 'https://contoso.sharepoint.com/sites/Finance/Shared Documents/Q2/Budget.xlsx',
      OriginalObjectType: 'File',
    });
    expect({ ...event.AdditionalFields }).toEqual({
      SiteId: 'd5180cfc-3479-44d6-b410-8c985ac894e3',
      WebId: '8c5c94bb-8396-470c-87d7-8999f440cd30',
      ListId: '2b6ad2bd-0fd7-4556-9c89-a97847085b85',
      ListItemUniqueId: '7f06ab3a-bd98-41d3-a0b2-ad270d71e4d8',
      CorrelationId: 'a1b9139f-5060-8000-e11f-3c4e2a7b9d10',
      EventSource: 'SharePoint',
      ItemType: 'File',
    });
    expect(event.SrcFilePath).toBeUndefined();
  });

  it('maps a OneDrive move (numbers sent as strings) with its source and destination', () => {
    const event = normalizeFixture(FILE, '5e8c1d2a-3b4f-4c6d-8e9f-0a1b2c3d4e5f');
    expect(event).toMatchObject({
      RecordType: 6,
      EventSchema: 'FileEvent',
      EventType: 'FileMoved',
      EventProduct: 'OneDrive',
      ActorUserType: 'Regular',
      SrcFilePath: 'https://contoso-my.sharepoint.com/personal/bob_contoso_com/Documents/Draft/plan.docx',
      SrcFileName: 'plan.docx',
      SrcFileDirectory: 'Documents/Draft',
      TargetFilePath: 'https://contoso-my.sharepoint.com/personal/bob_contoso_com/Documents/Final/plan.docx',
      TargetFileName: 'plan.docx',
      TargetFileExtension: 'docx',
      TargetFileDirectory: 'Documents/Final',
    });
    expect(event.EventSubType).toBeUndefined();
  });

  it('maps a sharing operation: the grantee is the target, EventData what was granted', () => {
    const event = normalizeFixture(FILE, '8f7e6d5c-4b3a-4291-8f0e-1d2c3b4a5968');
    expect(event).toMatchObject({
      RecordTypeName: 'SharePointSharingOperation',
      EventSchema: 'AuditEvent',
      EventType: 'Create',
      EventResult: 'NA',
      TargetUsername: 'Anonymous',
      TargetUrl: 'https://contoso-my.sharepoint.com/personal/bob_contoso_com',
      Object: 'https://contoso-my.sharepoint.com/personal/bob_contoso_com/Documents/Final/plan.docx',
      OriginalObjectType: 'File',
      NewValue: '<Type>View</Type>',
    });
    expect({ ...event.AdditionalFields }).toMatchObject({
      TargetUserOrGroupType: 'Guest',
      UniqueSharingId: 'd323b5ea-ceca-4d65-a628-e22ca9296a76',
    });
  });
});
