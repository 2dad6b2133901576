metadata name = 'Sentinel ingestion'
metadata description = 'Brings the pipeline\'s events into the custom table M365AuditNormalized_CL of a Sentinel workspace, with the OfficeActivityCompat workspace function over it. Two paths: a data collection rule with an Event Hubs data import (the association and the receiver role on the hub are deployed to the hub\'s resource group by a nested module), or a rule with a stream the forwarder function writes through the Logs Ingestion API. Deploy it to the workspace\'s resource group.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Resource ID of the Log Analytics workspace Sentinel uses. For the Event Hubs data import it must be linked to a dedicated cluster or have a commitment tier, in a region that supports Event Hubs ingestion.')
param workspaceResourceId string

@description('Optional. How events reach the workspace: eventHubDataImport (the rule reads the hub itself) or logsIngestionApi (the forwarder function reads the hub and calls the Logs Ingestion API).')
@allowed([
  'eventHubDataImport'
  'logsIngestionApi'
])
param ingestionPath string = 'eventHubDataImport'

@description('Conditional. Resource ID of the event hub to read (Microsoft.EventHub/namespaces/eventhubs); required for eventHubDataImport.')
param eventHubResourceId string = ''

@description('Conditional. The event hub consumer group reserved for the Event Hubs data import; no other reader may use it.')
param consumerGroupName string = ''

@description('Conditional. Principal ID of the identity the forwarder function runs as; required for logsIngestionApi (it is granted Monitoring Metrics Publisher on the rule).')
param forwarderPrincipalId string = ''

@description('Optional. Name of the stream the forwarder writes (LOGS_INGESTION_STREAM); custom streams start with Custom-.')
param logsIngestionStreamName string = 'Custom-M365AuditEvents'

@description('Optional. Region of the workspace; the endpoint and the rule must be in it.')
param location string = resourceGroup().location

@description('Optional. Prefix of the endpoint and rule names.')
param namePrefix string = 'm365-audit'

@description('Optional. Tags of the resources.')
param tags object = {}

var tableName = 'M365AuditNormalized_CL'
// The stream the Event Hubs data import writes; its three columns are fixed by Azure Monitor.
var inputStreamName = 'Custom-M365EhStream'
var destinationName = 'sentinelWorkspace'
var useEventHubDataImport = ingestionPath == 'eventHubDataImport'
var useLogsIngestion = ingestionPath == 'logsIngestionApi'
// The workspace function that presents the table as OfficeActivity; CI compiles this text (test/unit/sentinel).
var officeActivityViewName = 'OfficeActivityCompat'
var officeActivityViewQuery = loadTextContent('../sentinel/OfficeActivityCompat.kql')

// Top-level fields of the normalized event (shared/core/normalize/event.ts) as table columns.
// Numbers are int, the four event times datetime, nested values dynamic, everything else string.
var envelopeColumns = [
  { name: 'EnvelopeSchema', type: 'string' }
  { name: 'EnvelopeVersion', type: 'string' }
  { name: 'EventId', type: 'string' }
  { name: 'EventOriginalUid', type: 'string' }
  { name: 'TimeGenerated', type: 'dateTime' }
  { name: 'EventStartTime', type: 'dateTime' }
  { name: 'EventEndTime', type: 'dateTime' }
  { name: 'ProcessedTime', type: 'dateTime' }
  { name: 'Source', type: 'string' }
  { name: 'SourceContentType', type: 'string' }
  { name: 'SourceContentId', type: 'string' }
  { name: 'SourceContentCreated', type: 'string' }
  { name: 'OrganizationId', type: 'string' }
  { name: 'EventVendor', type: 'string' }
  { name: 'EventProduct', type: 'string' }
  { name: 'Workload', type: 'string' }
  { name: 'RecordType', type: 'int' }
  { name: 'RecordTypeName', type: 'string' }
  { name: 'Operation', type: 'string' }
  { name: 'EventOriginalType', type: 'string' }
  { name: 'EventSchema', type: 'string' }
  { name: 'EventSchemaVersion', type: 'string' }
  { name: 'EventType', type: 'string' }
  { name: 'EventSubType', type: 'string' }
  { name: 'EventResult', type: 'string' }
  { name: 'EventResultDetails', type: 'string' }
  { name: 'EventOriginalResultDetails', type: 'string' }
  { name: 'EventCount', type: 'int' }
  { name: 'RecordCount', type: 'int' }
  { name: 'DistinctEventIds', type: 'int' }
  { name: 'EventIdDigest', type: 'string' }
  { name: 'DigestAlgorithm', type: 'string' }
  { name: 'EventSeverity', type: 'string' }
  { name: 'Dvc', type: 'string' }
  { name: 'ActorUsername', type: 'string' }
  { name: 'ActorUsernameType', type: 'string' }
  { name: 'ActorUserId', type: 'string' }
  { name: 'ActorUserIdType', type: 'string' }
  { name: 'ActorUserAadId', type: 'string' }
  { name: 'ActorUserPuid', type: 'string' }
  { name: 'ActorUserSid', type: 'string' }
  { name: 'ActorUserType', type: 'string' }
  { name: 'ActorOriginalUserType', type: 'string' }
  { name: 'ActorScope', type: 'string' }
  { name: 'ActorScopeId', type: 'string' }
  { name: 'ActorSessionId', type: 'string' }
  { name: 'ActingAppId', type: 'string' }
  { name: 'ActingAppName', type: 'string' }
  { name: 'SrcIpAddr', type: 'string' }
  { name: 'SrcPortNumber', type: 'int' }
  { name: 'SrcIpAddrOriginal', type: 'string' }
  { name: 'SrcHostname', type: 'string' }
  { name: 'SrcDvcOs', type: 'string' }
  { name: 'HttpUserAgent', type: 'string' }
  { name: 'TargetUsername', type: 'string' }
  { name: 'TargetUsernameType', type: 'string' }
  { name: 'TargetUserId', type: 'string' }
  { name: 'TargetUserIdType', type: 'string' }
  { name: 'TargetUserAadId', type: 'string' }
  { name: 'TargetUserPuid', type: 'string' }
  { name: 'TargetUserType', type: 'string' }
  { name: 'TargetOriginalUserType', type: 'string' }
  { name: 'TargetUserScopeId', type: 'string' }
  { name: 'TargetSessionId', type: 'string' }
  { name: 'TargetAppName', type: 'string' }
  { name: 'TargetAppId', type: 'string' }
  { name: 'TargetAppType', type: 'string' }
  { name: 'TargetUrl', type: 'string' }
  { name: 'LogonProtocol', type: 'string' }
  { name: 'LogonMethod', type: 'string' }
  { name: 'TargetFilePath', type: 'string' }
  { name: 'TargetFilePathType', type: 'string' }
  { name: 'TargetFileName', type: 'string' }
  { name: 'TargetFileExtension', type: 'string' }
  { name: 'TargetFileDirectory', type: 'string' }
  { name: 'SrcFilePath', type: 'string' }
  { name: 'SrcFilePathType', type: 'string' }
  { name: 'SrcFileName', type: 'string' }
  { name: 'SrcFileExtension', type: 'string' }
  { name: 'SrcFileDirectory', type: 'string' }
  { name: 'Object', type: 'string' }
  { name: 'ObjectId', type: 'string' }
  { name: 'ObjectType', type: 'string' }
  { name: 'OriginalObjectType', type: 'string' }
  { name: 'OldValue', type: 'string' }
  { name: 'NewValue', type: 'string' }
  { name: 'AdditionalFields', type: 'dynamic' }
  { name: 'ParseWarnings', type: 'dynamic' }
  { name: 'RawSha256', type: 'string' }
  { name: 'RawSizeBytes', type: 'int' }
  { name: 'RawTruncated', type: 'boolean' }
  { name: 'Raw', type: 'dynamic' }
  { name: 'RawRef', type: 'string' }
]

// Delivery metadata kept next to the event: when the hub received it, and the message's application properties.
var deliveryColumns = [
  { name: 'EhEnqueuedTime', type: 'dateTime' }
  { name: 'EhProperties', type: 'dynamic' }
]

// The transform parses each message body once and projects every envelope field into its typed column. Only
// row-by-row operators and conversion functions are allowed in a transform, so dedupe happens at query time.
var conversions = {
  string: 'tostring'
  dateTime: 'todatetime'
  int: 'toint'
  boolean: 'tobool'
}
var projections = [
  for column in envelopeColumns: column.type == 'dynamic' ? '${column.name} = e.${column.name}' : '${column.name} = ${conversions[column.type]}(e.${column.name})'
]
// The stream's TimeGenerated is the enqueue time; it becomes EhEnqueuedTime and the event time takes its place.
var transformKql = 'source | extend e = parse_json(RawData), EhEnqueuedTime = TimeGenerated, EhProperties = Properties | project ${join(projections, ', ')}, EhEnqueuedTime, EhProperties'

var eventHubIdParts = split(eventHubResourceId, '/')

// The forwarder sends each event as one JSON object whose fields are the table's columns (the envelope plus
// EhEnqueuedTime and EhProperties), so the stream declares the table's columns and the transform passes rows on.
// Stream declarations spell the datetime type in lower case.
var streamTypes = {
  string: 'string'
  dateTime: 'datetime'
  int: 'int'
  boolean: 'boolean'
  dynamic: 'dynamic'
}
var forwarderStreamColumns = [
  for column in concat(envelopeColumns, deliveryColumns): {
    name: column.name
    type: streamTypes[column.type]
  }
]
var forwarderTransformKql = 'source'

// Built-in role: Monitoring Metrics Publisher (send data to this rule's streams only).
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// ============= //
//   Resources   //
// ============= //

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: last(split(workspaceResourceId, '/'))
}

resource table 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = {
  parent: workspace
  name: tableName
  properties: {
    plan: 'Analytics'
    schema: {
      name: tableName
      columns: concat(envelopeColumns, deliveryColumns)
    }
  }
}

resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: '${namePrefix}-dce'
  location: location
  tags: tags
  properties: {
    networkAcls: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

// The OfficeActivity-compatible view, saved as a workspace function so rules and hunting queries can call it.
resource officeActivityView 'Microsoft.OperationalInsights/workspaces/savedSearches@2020-08-01' = {
  parent: workspace
  name: officeActivityViewName
  properties: {
    category: 'M365 audit ingest'
    displayName: officeActivityViewName
    functionAlias: officeActivityViewName
    query: officeActivityViewQuery
    version: 2
  }
  dependsOn: [
    table
  ]
}

resource rule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = if (useEventHubDataImport) {
  name: '${namePrefix}-eventhub-dcr'
  location: location
  tags: tags
  // The rule reads the hub with its own identity, which is granted Azure Event Hubs Data Receiver on the hub.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: {
      '${inputStreamName}': {
        columns: [
          { name: 'TimeGenerated', type: 'datetime' }
          { name: 'RawData', type: 'string' }
          { name: 'Properties', type: 'dynamic' }
        ]
      }
    }
    dataSources: {
      dataImports: {
        eventHub: {
          name: 'm365AuditEventHub'
          consumerGroup: consumerGroupName
          stream: inputStreamName
        }
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: destinationName
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          inputStreamName
        ]
        destinations: [
          destinationName
        ]
        transformKql: transformKql
        outputStream: 'Custom-${table.name}'
      }
    ]
  }
}

module eventHubLink './sentinel-event-hub-link.bicep' = if (useEventHubDataImport) {
  name: '${namePrefix}-sentinel-eventhub-link'
  scope: resourceGroup(eventHubIdParts[2], eventHubIdParts[4])
  params: {
    eventHubNamespaceName: eventHubIdParts[8]
    eventHubName: eventHubIdParts[10]
    dataCollectionRuleId: rule.id
    dataCollectionRulePrincipalId: rule!.identity.principalId
  }
}

// The second path: the forwarder function posts events to this rule's stream through the endpoint.
resource ingestionRule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = if (useLogsIngestion) {
  name: '${namePrefix}-logs-ingestion-dcr'
  location: location
  tags: tags
  properties: {
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: {
      '${logsIngestionStreamName}': {
        columns: forwarderStreamColumns
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: destinationName
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          logsIngestionStreamName
        ]
        destinations: [
          destinationName
        ]
        transformKql: forwarderTransformKql
        outputStream: 'Custom-${table.name}'
      }
    ]
  }
}

resource forwarderPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useLogsIngestion) {
  name: guid(ingestionRule.id, forwarderPrincipalId, monitoringMetricsPublisherRoleId)
  scope: ingestionRule
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: forwarderPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The name of the custom table.')
output tableName string = table.name

@description('The resource ID of the data collection rule of the chosen path.')
output dataCollectionRuleId string = useEventHubDataImport ? rule.id : ingestionRule.id

@description('The name of the workspace function that presents the table as OfficeActivity.')
output officeActivityFunctionName string = officeActivityView.properties.functionAlias

@description('The logs ingestion endpoint the forwarder calls (LOGS_INGESTION_ENDPOINT), or empty on the Event Hubs path.')
output logsIngestionEndpoint string = useLogsIngestion ? endpoint.properties.logsIngestion.endpoint : ''

@description('The immutable ID of the forwarder\'s rule (LOGS_INGESTION_RULE_ID), or empty on the Event Hubs path.')
output logsIngestionRuleId string = useLogsIngestion ? ingestionRule!.properties.immutableId : ''

@description('The stream the forwarder writes (LOGS_INGESTION_STREAM).')
output logsIngestionStreamName string = logsIngestionStreamName

@description('The resource ID of the data collection endpoint.')
output dataCollectionEndpointId string = endpoint.id

@description('The transformation the rule of the chosen path applies, for review.')
output transformKql string = useEventHubDataImport ? transformKql : forwarderTransformKql
