metadata name = 'Pipeline storage'
metadata description = 'The one storage account for host state, the content queue, the cursor/ledger/health tables, the quarantine and claim-check containers and the deployment package. Entra ID only: shared keys are off.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Principal ID of the function app identity; it is granted the data-plane roles on this account.')
param principalId string

@description('Optional. Name of the content queue (CONTENT_QUEUE_NAME); its poison queue is "<name>-poison".')
@minLength(3)
@maxLength(56)
param contentQueueName string = 'o365-content'

@description('Optional. Name of the discovery task queue (POLL_QUEUE_NAME); its poison queue is "<name>-poison".')
@minLength(3)
@maxLength(56)
param pollQueueName string = 'o365-poll'

@description('Optional. Name of the blob container that holds the function app deployment package.')
param deploymentContainerName string = 'app-package'

@description('Optional. Days after their last modification that quarantined blobs are deleted.')
@minValue(1)
param quarantineRetentionInDays int = 30

@description('Optional. Days after their last modification that claim-check blobs (oversize raw records) are deleted. Keep it at least as long as consumers may follow RawRef.')
@minValue(1)
param claimCheckRetentionInDays int = 30

@description('Optional. Replication of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param skuName string = 'Standard_LRS'

@description('Optional. Whether the account accepts traffic from public networks. Disable it when private endpoints are used.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Optional. Location of the account.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// Built-in roles, all on this account only:
// Storage Blob Data Owner: the Functions host takes blob leases and reads the deployment package; the app writes quarantine and claim-check blobs.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Queue Data Contributor: the content queue, its poison queue and the host's own queues.
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Table Data Contributor: the cursors, ledger and health tables.
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

var roleIds = [
  storageBlobDataOwnerRoleId
  storageQueueDataContributorRoleId
  storageTableDataContributorRoleId
]

var tableNames = [
  'cursors'
  'ledger'
  'health'
  'listings'
  'gaps'
  'sweeps'
  'summaries'
  'budgets'
]

var queueNames = [
  contentQueueName
  '${contentQueueName}-poison'
  pollQueueName
  '${pollQueueName}-poison'
]

var containerNames = [
  'quarantine'
  'claim-check'
  deploymentContainerName
]

// ============= //
//   Resources   //
// ============= //

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    // Entra ID only: no account keys, no SAS signed with them.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storageAccount
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-quarantine'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'quarantine/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: quarantineRetentionInDays
                }
              }
            }
          }
        }
        {
          name: 'expire-claim-check'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'claim-check/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: claimCheckRetentionInDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource dataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in roleIds: {
    name: guid(storageAccount.id, principalId, roleId)
    scope: storageAccount
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// =========== //
//   Outputs   //
// =========== //

@description('The name of the storage account.')
output name string = storageAccount.name

@description('The resource ID of the storage account.')
output resourceId string = storageAccount.id

@description('The blob endpoint, with a trailing slash.')
output blobEndpoint string = storageAccount.properties.primaryEndpoints.blob

@description('The queue endpoint, with a trailing slash.')
output queueEndpoint string = storageAccount.properties.primaryEndpoints.queue

@description('The table endpoint, with a trailing slash.')
output tableEndpoint string = storageAccount.properties.primaryEndpoints.table

@description('The name of the deployment package container; it exists once this module has deployed.')
output deploymentContainerName string = deploymentContainerName
