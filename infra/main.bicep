metadata name = 'm365-audit-ingest'
metadata description = 'Deploys the Microsoft 365 audit pipeline into one resource group: Flex Consumption function app with one user-assigned identity, identity-only Storage, Event Hubs, Key Vault and Application Insights, optional private networking, and optional Sentinel ingestion.'

targetScope = 'resourceGroup'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Short base name for resource names: 2-12 lowercase letters and digits (it is part of the storage account name).')
@minLength(2)
@maxLength(12)
param name string

@description('Required. The Microsoft 365 tenants to collect from; serialized into O365_TENANTS. A managedIdentity credential without clientId gets the client ID of the function app identity.')
@minLength(1)
param tenants tenantType[]

@description('Optional. The Microsoft 365 cloud of tenants that do not name one. It selects the Management Activity API host and the Entra authority; the Azure resources themselves are the same in every cloud.')
param cloud cloudName = 'commercial'

@description('Optional. Location of all resources except the Sentinel endpoint and rule.')
param location string = resourceGroup().location

@description('Optional. Tags applied to every resource.')
param tags object = {}

// Pipeline settings (names and defaults: shared/config.ts SETTINGS).

@description('Optional. Default content types for tenants that list none (O365_CONTENT_TYPES).')
@minLength(1)
param contentTypes auditContentType[] = [
  'Audit.AzureActiveDirectory'
  'Audit.Exchange'
  'Audit.SharePoint'
  'Audit.General'
  'DLP.All'
]

@description('Optional. Name of the content queue (CONTENT_QUEUE_NAME); the poison queue is "<name>-poison".')
@minLength(3)
@maxLength(56)
param contentQueueName string = 'o365-content'

@description('Optional. NCRONTAB schedule of the pollContent timer (POLL_SCHEDULE), six fields.')
param pollSchedule string = '0 */5 * * * *'

@description('Optional. Windows end this many minutes before now, so late-listed blobs settle (SETTLE_LAG_MINUTES).')
@minValue(0)
@maxValue(720)
param settleLagMinutes int = 10

@description('Optional. Each poll re-lists this many minutes before the cursor (OVERLAP_MINUTES).')
@minValue(0)
@maxValue(1440)
param overlapMinutes int = 120

@description('Optional. How far back the first poll of a stream starts (INITIAL_LOOKBACK_HOURS).')
@minValue(1)
@maxValue(167)
param initialLookbackHours int = 24

@description('Optional. Per-event budget in bytes; larger events move Raw to a claim-check blob (MAX_EVENT_BYTES). Keep it under 64 KB when Sentinel reads the hub.')
@minValue(1024)
@maxValue(1048576)
param maxEventBytes int = 61440

@description('Optional. Event Hubs partition key (PARTITION_KEY_MODE): content (contentId), tenant, or none.')
@allowed([
  'content'
  'tenant'
  'none'
])
param partitionKeyMode string = 'content'

@description('Optional. Event shape (EVENT_PROFILE): full (normalized fields + Raw) or compact (normalized fields + every other record field in AdditionalFields).')
@allowed([
  'full'
  'compact'
])
param eventProfile string = 'full'

@description('Optional. Name of the discovery task queue (POLL_QUEUE_NAME).')
@minLength(3)
@maxLength(56)
param pollQueueName string = 'o365-poll'

@description('Optional. NCRONTAB schedule of the retention sweep (SWEEP_SCHEDULE), six fields.')
param sweepSchedule string = '0 30 * * * *'

@description('Optional. NCRONTAB schedule of reconcile (RECONCILE_SCHEDULE), six fields.')
param reconcileSchedule string = '0 */15 * * * *'

@description('Optional. First backoff in seconds of a blob re-enqueued after a transient failure (RETRY_INITIAL_SECONDS).')
@minValue(1)
@maxValue(3600)
param retryInitialSeconds int = 30

@description('Optional. Longest backoff in seconds between delivery attempts (RETRY_MAX_SECONDS).')
@minValue(1)
@maxValue(86400)
param retryMaxSeconds int = 3600

@description('Optional. Days after contentCreated that summarized ledger rows are deleted (LEDGER_RETENTION_DAYS).')
@minValue(21)
@maxValue(3650)
param ledgerRetentionDays int = 30

@description('Optional. Heal recorded gaps from Purview audit search automatically (HEAL_GAPS). Needs the Graph application permission AuditLogsQuery.Read.All with admin consent in each tenant.')
param healGaps bool = true

@description('Optional. NCRONTAB schedule of the heal timer (HEAL_SCHEDULE), six fields.')
param healSchedule string = '0 */10 * * * *'

@description('Optional. Hours before a gap from which it is healed (HEAL_LOOKBEHIND_HOURS): records reach a content blob up to that long after they were created.')
@minValue(0)
@maxValue(720)
param healLookbehindHours int = 24

@description('Optional. Audit log queries submitted per tenant in any 24 hours (HEAL_QUERIES_PER_DAY); Graph documents a baseline of at least 200.')
@minValue(1)
@maxValue(100000)
param healQueriesPerDay int = 200

@description('Optional. Audit log queries queued or running per tenant at once (HEAL_MAX_RUNNING_QUERIES); Graph documents a baseline of at least 50.')
@minValue(1)
@maxValue(10000)
param healMaxRunningQueries int = 50

@description('Optional. Microsoft Graph version of the audit log query API (HEAL_GRAPH_VERSION).')
@allowed([
  'v1.0'
  'beta'
])
param healGraphVersion string = 'v1.0'

// Event Hubs.

@description('Optional. Name of the event hub (EVENTHUB_NAME).')
param eventHubName string = 'm365-audit'

@description('Optional. Partitions of the event hub; cannot be changed later on the Standard tier.')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

@description('Optional. Days the event hub retains events (Standard tier: 1-7). Readers that fall further behind lose events.')
@minValue(1)
@maxValue(7)
param eventHubRetentionInDays int = 7

@description('Optional. Throughput units of the Event Hubs namespace.')
@minValue(1)
@maxValue(40)
param eventHubsCapacity int = 1

@description('Optional. Consumer group reserved for the Sentinel data collection rule.')
param sentinelConsumerGroupName string = 'sentinel'

@description('Optional. Further consumer groups, one per other reader (Splunk, Elastic, ...).')
param additionalConsumerGroupNames string[] = []

// State and monitoring.

@description('Optional. Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Optional. Days after which quarantined blobs are deleted.')
@minValue(1)
param quarantineRetentionInDays int = 30

@description('Optional. Days after which claim-check blobs (oversize raw records behind RawRef) are deleted.')
@minValue(1)
param claimCheckRetentionInDays int = 30

@description('Optional. Days the Log Analytics workspace behind Application Insights keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 90

// Function app.

@description('Optional. Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Optional. Memory of each Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Networking.

@description('Optional. Put Storage, Event Hubs and Key Vault behind private endpoints in a new virtual network, integrate the function app with it, and turn off their public network access.')
param enablePrivateNetworking bool = false

@description('Optional. Address space of the virtual network (private networking only).')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Optional. Function app integration subnet (private networking only).')
param functionSubnetPrefix string = '10.40.1.0/24'

@description('Optional. Private endpoint subnet (private networking only).')
param privateEndpointSubnetPrefix string = '10.40.2.0/24'

@description('Optional. Public network access of the Key Vault. Defaults to Disabled with private networking; then secrets must be set from a network that reaches the private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = enablePrivateNetworking ? 'Disabled' : 'Enabled'

// Sentinel.

@description('Optional. Resource ID of the Sentinel Log Analytics workspace. When set, the Sentinel module creates the custom table, endpoint, rule and association that read the event hub. The workspace needs a dedicated cluster or a commitment tier.')
param sentinelWorkspaceResourceId string = ''

@description('Optional. Region of the Sentinel workspace (the data collection endpoint and rule are created there).')
param sentinelWorkspaceLocation string = location

@description('Optional. How events reach the Sentinel workspace: eventHubDataImport (a data collection rule reads the hub; needs a dedicated cluster or a commitment tier) or logsIngestionApi (the forwarder function reads the hub and posts to the Logs Ingestion API).')
@allowed([
  'eventHubDataImport'
  'logsIngestionApi'
])
param sentinelIngestionPath string = 'eventHubDataImport'

@description('Optional. Consumer group of the forwarder function (LOGS_INGESTION_CONSUMER_GROUP), created when sentinelIngestionPath is logsIngestionApi.')
param logsIngestionConsumerGroupName string = 'logs-ingestion'

@description('Optional. Stream of the forwarder\'s data collection rule (LOGS_INGESTION_STREAM).')
param logsIngestionStreamName string = 'Custom-M365AuditEvents'

// Names; each can be overridden to follow a naming policy.

@description('Optional. Suffix that makes the default names unique; a hash of subscription, resource group and name unless given.')
param resourceToken string = toLower(uniqueString(subscription().id, resourceGroup().id, name))

@description('Optional. Name of the user-assigned managed identity.')
param identityName string = 'id-${name}-${resourceToken}'

@description('Optional. Name of the storage account.')
@maxLength(24)
param storageAccountName string = take(toLower('st${name}${resourceToken}'), 24)

@description('Optional. Name of the Event Hubs namespace.')
param eventHubNamespaceName string = 'evhns-${name}-${resourceToken}'

@description('Optional. Name of the Key Vault.')
@maxLength(24)
param keyVaultName string = 'kv-${name}-${take(resourceToken, 8)}'

@description('Optional. Name of the Log Analytics workspace.')
param logAnalyticsName string = 'log-${name}-${resourceToken}'

@description('Optional. Name of the Application Insights component.')
param applicationInsightsName string = 'appi-${name}-${resourceToken}'

@description('Optional. Name of the Flex Consumption plan.')
param planName string = 'asp-${name}-${resourceToken}'

@description('Optional. Name of the function app.')
param functionAppName string = 'func-${name}-${resourceToken}'

@description('Optional. Name of the virtual network (private networking only).')
param vnetName string = 'vnet-${name}-${resourceToken}'

// ============= //
//   Variables   //
// ============= //

var deploySentinel = !empty(sentinelWorkspaceResourceId)
// The Logs Ingestion path: the forwarder function reads the hub with its own consumer group.
var deployForwarder = deploySentinel && sentinelIngestionPath == 'logsIngestionApi'
// The Event Hubs data import: the rule reads the hub as a trusted Microsoft service.
var deploySentinelImport = deploySentinel && sentinelIngestionPath == 'eventHubDataImport'
var sentinelWorkspaceIdParts = split(sentinelWorkspaceResourceId, '/')

// The Sentinel rule reads the hub through the trusted-services exception, which needs the public endpoint
// switched on (with every public network denied) rather than off.
var eventHubsPublicNetworkAccess = enablePrivateNetworking && !deploySentinelImport ? 'Disabled' : 'Enabled'

var privateEndpointTargets = [
  {
    groupId: 'blob'
    zone: 'blob'
    serviceResourceId: resourceId('Microsoft.Storage/storageAccounts', storageAccountName)
  }
  {
    groupId: 'queue'
    zone: 'queue'
    serviceResourceId: resourceId('Microsoft.Storage/storageAccounts', storageAccountName)
  }
  {
    groupId: 'table'
    zone: 'table'
    serviceResourceId: resourceId('Microsoft.Storage/storageAccounts', storageAccountName)
  }
  {
    groupId: 'namespace'
    zone: 'eventHubs'
    serviceResourceId: resourceId('Microsoft.EventHub/namespaces', eventHubNamespaceName)
  }
  {
    groupId: 'vault'
    zone: 'keyVault'
    serviceResourceId: resourceId('Microsoft.KeyVault/vaults', keyVaultName)
  }
]

// ============= //
//   Resources   //
// ============= //

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: logAnalyticsName
    applicationInsightsName: applicationInsightsName
    principalId: identity.outputs.principalId
    retentionInDays: logRetentionInDays
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    principalId: identity.outputs.principalId
    contentQueueName: contentQueueName
    pollQueueName: pollQueueName
    quarantineRetentionInDays: quarantineRetentionInDays
    claimCheckRetentionInDays: claimCheckRetentionInDays
    skuName: storageSkuName
    publicNetworkAccess: enablePrivateNetworking ? 'Disabled' : 'Enabled'
    location: location
    tags: tags
  }
}

module eventHubs 'modules/event-hubs.bicep' = {
  name: 'event-hubs'
  params: {
    namespaceName: eventHubNamespaceName
    eventHubName: eventHubName
    senderPrincipalId: identity.outputs.principalId
    consumerGroupNames: concat([sentinelConsumerGroupName], deployForwarder ? [logsIngestionConsumerGroupName] : [], additionalConsumerGroupNames)
    partitionCount: eventHubPartitionCount
    messageRetentionInDays: eventHubRetentionInDays
    capacity: eventHubsCapacity
    publicNetworkAccess: eventHubsPublicNetworkAccess
    networkDefaultAction: enablePrivateNetworking ? 'Deny' : 'Allow'
    location: location
    tags: tags
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: keyVaultName
    principalId: identity.outputs.principalId
    publicNetworkAccess: keyVaultPublicNetworkAccess
    location: location
    tags: tags
  }
}

module network 'modules/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  params: {
    name: vnetName
    addressPrefix: vnetAddressPrefix
    functionSubnetPrefix: functionSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    location: location
    tags: tags
  }
}

module privateEndpoints 'modules/private-endpoint.bicep' = [
  for target in privateEndpointTargets: if (enablePrivateNetworking) {
    name: 'private-endpoint-${target.groupId}'
    params: {
      name: 'pe-${last(split(target.serviceResourceId, '/'))}-${target.groupId}'
      serviceResourceId: target.serviceResourceId
      groupId: target.groupId
      subnetId: network!.outputs.privateEndpointSubnetId
      privateDnsZoneId: network!.outputs.zoneIds[target.zone]
      location: location
      tags: tags
    }
    dependsOn: [
      storage
      eventHubs
      keyVault
    ]
  }
]

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: functionAppName
    planName: planName
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    eventHubsFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    eventHubName: eventHubs.outputs.eventHubName
    keyVaultUri: keyVault.outputs.uri
    tenants: tenants
    defaultCloud: cloud
    contentTypes: contentTypes
    contentQueueName: contentQueueName
    pollSchedule: pollSchedule
    settleLagMinutes: settleLagMinutes
    overlapMinutes: overlapMinutes
    initialLookbackHours: initialLookbackHours
    maxEventBytes: maxEventBytes
    partitionKeyMode: partitionKeyMode
    eventProfile: eventProfile
    pollQueueName: pollQueueName
    sweepSchedule: sweepSchedule
    reconcileSchedule: reconcileSchedule
    retryInitialSeconds: retryInitialSeconds
    retryMaxSeconds: retryMaxSeconds
    ledgerRetentionDays: ledgerRetentionDays
    healGaps: healGaps
    healSchedule: healSchedule
    healLookbehindHours: healLookbehindHours
    healQueriesPerDay: healQueriesPerDay
    healMaxRunningQueries: healMaxRunningQueries
    healGraphVersion: healGraphVersion
    logsIngestionEndpoint: deployForwarder ? sentinel!.outputs.logsIngestionEndpoint : ''
    logsIngestionRuleId: deployForwarder ? sentinel!.outputs.logsIngestionRuleId : ''
    logsIngestionStreamName: logsIngestionStreamName
    logsIngestionConsumerGroupName: logsIngestionConsumerGroupName
    virtualNetworkSubnetId: enablePrivateNetworking ? network!.outputs.functionSubnetId : ''
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    location: location
    tags: tags
  }
  // With private networking the host must reach Storage through its private endpoints from the first start.
  dependsOn: [
    privateEndpoints
  ]
}

module sentinel 'modules/sentinel.bicep' = if (deploySentinel) {
  name: 'sentinel'
  scope: resourceGroup(
    deploySentinel ? sentinelWorkspaceIdParts[2] : subscription().subscriptionId,
    deploySentinel ? sentinelWorkspaceIdParts[4] : resourceGroup().name
  )
  params: {
    workspaceResourceId: sentinelWorkspaceResourceId
    eventHubResourceId: eventHubs.outputs.eventHubResourceId
    consumerGroupName: sentinelConsumerGroupName
    ingestionPath: sentinelIngestionPath
    forwarderPrincipalId: identity.outputs.principalId
    logsIngestionStreamName: logsIngestionStreamName
    location: sentinelWorkspaceLocation
    namePrefix: 'm365-audit-${name}'
    tags: tags
  }
}

// The forwarder reads the hub as the app identity.
module forwarderHub 'modules/sentinel-forwarder-hub.bicep' = if (deployForwarder) {
  name: 'sentinel-forwarder-hub'
  params: {
    eventHubNamespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubs.outputs.eventHubName
    principalId: identity.outputs.principalId
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The name of the function app (for func azure functionapp publish).')
output functionAppName string = functionApp.outputs.name

@description('The name of the Event Hubs namespace.')
output eventHubNamespaceName string = eventHubs.outputs.namespaceName

@description('The host name of the Event Hubs namespace.')
output eventHubsFullyQualifiedNamespace string = eventHubs.outputs.fullyQualifiedNamespace

@description('The name of the event hub.')
output eventHubName string = eventHubs.outputs.eventHubName

@description('The name of the Key Vault that holds tenant credentials.')
output keyVaultName string = keyVault.outputs.name

@description('The URI of the Key Vault (KEY_VAULT_URL).')
output keyVaultUri string = keyVault.outputs.uri

@description('The name of the storage account.')
output storageAccountName string = storage.outputs.name

@description('The client ID of the function app identity (AZURE_CLIENT_ID).')
output identityClientId string = identity.outputs.clientId

@description('The principal (object) ID of the function app identity; grant it the Office 365 Management APIs app role for same-tenant managed identity collection.')
output identityPrincipalId string = identity.outputs.principalId

@description('The resource ID of the Sentinel data collection rule, or empty when Sentinel is not deployed.')
output sentinelDataCollectionRuleId string = deploySentinel ? sentinel!.outputs.dataCollectionRuleId : ''

@description('The workspace function that presents the Sentinel table as OfficeActivity, or empty when Sentinel is not deployed.')
output sentinelOfficeActivityFunction string = deploySentinel ? sentinel!.outputs.officeActivityFunctionName : ''

// =============== //
//   Definitions   //
// =============== //

@description('A Microsoft 365 cloud.')
type cloudName = 'commercial' | 'gcc' | 'gcchigh' | 'dod'

@description('A Management Activity API content type, exactly as the API spells it.')
type auditContentType = 'Audit.AzureActiveDirectory' | 'Audit.Exchange' | 'Audit.SharePoint' | 'Audit.General' | 'DLP.All'

@description('A client secret of the tenant\'s Entra application, read from Key Vault.')
type secretCredential = {
  type: 'secret'

  @description('Required. Name of the Key Vault secret holding the client secret.')
  secretName: string
}

@description('A certificate of the tenant\'s Entra application, read from Key Vault as PEM (certificate and private key).')
type certificateCredential = {
  type: 'certificate'

  @description('Required. Name of the Key Vault secret holding the PEM.')
  secretName: string

  @description('Optional. Name of the Key Vault secret holding the private key password, if the key is encrypted.')
  passwordSecretName: string?
}

@description('A managed identity that holds the ActivityFeed.Read app role in the same tenant.')
type managedIdentityCredential = {
  type: 'managedIdentity'

  @description('Optional. Client ID of the user-assigned identity; defaults to the function app identity.')
  clientId: string?
}

@discriminator('type')
type tenantCredential = secretCredential | certificateCredential | managedIdentityCredential

@description('One tenant entry of O365_TENANTS (validated by loadConfig in shared/config.ts at startup).')
type tenantType = {
  @description('Required. The tenant (directory) ID.')
  tenantId: string

  @description('Conditional. The Entra application (client) ID; required for secret and certificate credentials.')
  clientId: string?

  @description('Optional. Display name for logs and health; defaults to the tenant ID.')
  name: string?

  @description('Optional. The tenant\'s Microsoft 365 cloud; defaults to the cloud parameter.')
  cloud: cloudName?

  @description('Required. How the pipeline authenticates to the tenant.')
  credential: tenantCredential

  @description('Optional. Content types to collect; defaults to the contentTypes parameter.')
  contentTypes: auditContentType[]?

  @description('Optional. PublisherIdentifier sent on every call (your own tenant ID); defaults to the tenant ID.')
  publisherIdentifier: string?
}
