metadata name = 'Function app'
metadata description = 'The pipeline\'s Function App on Flex Consumption (Linux, Node.js 20), running as one user-assigned identity. App settings are assembled here and nowhere else; their names are the contract of shared/config.ts.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the function app (globally unique host name).')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Required. Resource ID of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Required. Client ID of that identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
param identityClientId string

@description('Required. Name of the storage account for host state, queues, tables and blobs.')
param storageAccountName string

@description('Required. Blob endpoint of the storage account, with a trailing slash.')
param storageBlobEndpoint string

@description('Required. Queue endpoint of the storage account, with a trailing slash.')
param storageQueueEndpoint string

@description('Required. Table endpoint of the storage account, with a trailing slash.')
param storageTableEndpoint string

@description('Required. Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Required. Application Insights connection string (instrumentation key and endpoints; no secret).')
param applicationInsightsConnectionString string

@description('Required. Event Hubs namespace host name, e.g. name.servicebus.windows.net.')
param eventHubsFullyQualifiedNamespace string

@description('Required. Name of the event hub that receives normalized events.')
param eventHubName string

@description('Required. URI of the Key Vault that holds tenant credentials.')
param keyVaultUri string

@description('Required. The tenants to collect from; serialized as JSON into O365_TENANTS.')
@minLength(1)
param tenants array

@description('Required. Microsoft 365 cloud of tenants that name none.')
@allowed([
  'commercial'
  'gcc'
  'gcchigh'
  'dod'
])
param defaultCloud string

@description('Required. Default content types for tenants that list none (O365_CONTENT_TYPES).')
@minLength(1)
param contentTypes string[]

@description('Required. Name of the content queue (CONTENT_QUEUE_NAME).')
param contentQueueName string

@description('Required. NCRONTAB schedule of the pollContent timer (POLL_SCHEDULE).')
param pollSchedule string

@description('Required. SETTLE_LAG_MINUTES.')
param settleLagMinutes int

@description('Required. OVERLAP_MINUTES.')
param overlapMinutes int

@description('Required. INITIAL_LOOKBACK_HOURS.')
param initialLookbackHours int

@description('Required. MAX_EVENT_BYTES.')
param maxEventBytes int

@description('Required. PARTITION_KEY_MODE.')
param partitionKeyMode string

@description('Required. EVENT_PROFILE.')
param eventProfile string

@description('Required. Name of the discovery task queue (POLL_QUEUE_NAME).')
param pollQueueName string

@description('Required. NCRONTAB schedule of the retention sweep (SWEEP_SCHEDULE).')
param sweepSchedule string

@description('Required. NCRONTAB schedule of reconcile (RECONCILE_SCHEDULE).')
param reconcileSchedule string

@description('Required. RETRY_INITIAL_SECONDS.')
param retryInitialSeconds int

@description('Required. RETRY_MAX_SECONDS.')
param retryMaxSeconds int

@description('Required. LEDGER_RETENTION_DAYS.')
param ledgerRetentionDays int

@description('Required. HEAL_GAPS.')
param healGaps bool

@description('Required. NCRONTAB schedule of the heal timer (HEAL_SCHEDULE).')
param healSchedule string

@description('Required. HEAL_LOOKBEHIND_HOURS.')
param healLookbehindHours int

@description('Required. HEAL_QUERIES_PER_DAY.')
param healQueriesPerDay int

@description('Required. HEAL_MAX_RUNNING_QUERIES.')
param healMaxRunningQueries int

@description('Required. HEAL_GRAPH_VERSION.')
param healGraphVersion string

@description('Optional. LOGS_INGESTION_ENDPOINT: the endpoint the forwarder posts to; empty leaves the forwarder off.')
param logsIngestionEndpoint string = ''

@description('Optional. LOGS_INGESTION_RULE_ID: immutable ID of the forwarder\'s data collection rule.')
param logsIngestionRuleId string = ''

@description('Required. LOGS_INGESTION_STREAM.')
param logsIngestionStreamName string

@description('Required. LOGS_INGESTION_CONSUMER_GROUP.')
param logsIngestionConsumerGroupName string

@description('Optional. Resource ID of the subnet to integrate with; empty for no virtual network integration.')
param virtualNetworkSubnetId string = ''

@description('Optional. Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Optional. Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Location of the resources.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// Each tenant names its cloud, and a managed identity credential without a client ID uses this app's
// identity: the app has no system-assigned identity, so the credential could not find one otherwise.
var resolvedTenants = map(
  tenants,
  tenant =>
    union(
      { cloud: defaultCloud },
      tenant,
      tenant.credential.type == 'managedIdentity' && !contains(tenant.credential, 'clientId')
        ? { credential: { type: 'managedIdentity', clientId: identityClientId } }
        : {}
    )
)

// Every setting is identity-based: no connection string with a key, no SAS. Names match shared/config.ts SETTINGS.
var appSettings = {
  // Functions host storage (leases, timers, queue triggers) through the user-assigned identity.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Explicit service URIs keep the host and the app correct in national clouds, where the account name alone implies the wrong suffix.
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Application Insights has local auth off; telemetry is sent with a token for this identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  AZURE_CLIENT_ID: identityClientId
  EVENTHUB_CONNECTION__fullyQualifiedNamespace: eventHubsFullyQualifiedNamespace
  EVENTHUB_NAME: eventHubName
  KEY_VAULT_URL: keyVaultUri
  O365_TENANTS: string(resolvedTenants)
  O365_CONTENT_TYPES: join(contentTypes, ',')
  CONTENT_QUEUE_NAME: contentQueueName
  POLL_SCHEDULE: pollSchedule
  SETTLE_LAG_MINUTES: string(settleLagMinutes)
  OVERLAP_MINUTES: string(overlapMinutes)
  INITIAL_LOOKBACK_HOURS: string(initialLookbackHours)
  MAX_EVENT_BYTES: string(maxEventBytes)
  PARTITION_KEY_MODE: partitionKeyMode
  EVENT_PROFILE: eventProfile
  POLL_QUEUE_NAME: pollQueueName
  SWEEP_SCHEDULE: sweepSchedule
  RECONCILE_SCHEDULE: reconcileSchedule
  RETRY_INITIAL_SECONDS: string(retryInitialSeconds)
  RETRY_MAX_SECONDS: string(retryMaxSeconds)
  LEDGER_RETENTION_DAYS: string(ledgerRetentionDays)
  HEAL_GAPS: string(healGaps)
  HEAL_SCHEDULE: healSchedule
  HEAL_LOOKBEHIND_HOURS: string(healLookbehindHours)
  HEAL_QUERIES_PER_DAY: string(healQueriesPerDay)
  HEAL_MAX_RUNNING_QUERIES: string(healMaxRunningQueries)
  HEAL_GRAPH_VERSION: healGraphVersion
  // The forwarder's Event Hubs trigger connects through the Functions host, which needs the identity named.
  EVENTHUB_CONNECTION__credential: 'managedidentity'
  EVENTHUB_CONNECTION__clientId: identityClientId
  LOGS_INGESTION_ENDPOINT: logsIngestionEndpoint
  LOGS_INGESTION_RULE_ID: logsIngestionRuleId
  LOGS_INGESTION_STREAM: logsIngestionStreamName
  LOGS_INGESTION_CONSUMER_GROUP: logsIngestionConsumerGroupName
}

// ============= //
//   Resources   //
// ============= //

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy the service "app" of azure.yaml to by this tag.
  tags: union(tags, { 'azd-service-name': 'app' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: appSettings
}

// Publishing uses Entra ID (az login); basic-auth publishing credentials are switched off for FTP and SCM.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The name of the function app.')
output name string = functionApp.name

@description('The resource ID of the function app.')
output resourceId string = functionApp.id

@description('The default host name of the function app.')
output defaultHostName string = functionApp.properties.defaultHostName
