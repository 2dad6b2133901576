metadata name = 'Event Hubs sink'
metadata description = 'Standard Event Hubs namespace with SAS (local) authentication off, the hub that receives normalized events, and its consumer groups.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the Event Hubs namespace (6-50 characters, globally unique).')
@minLength(6)
@maxLength(50)
param namespaceName string

@description('Required. Name of the event hub (EVENTHUB_NAME).')
param eventHubName string

@description('Required. Principal ID of the function app identity; it is granted Azure Event Hubs Data Sender on the event hub only.')
param senderPrincipalId string

@description('Required. Consumer groups to create on the event hub (each reader gets its own).')
@minLength(1)
param consumerGroupNames string[]

@description('Optional. Partitions of the event hub. Fixed after creation on the Standard tier.')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Optional. Days the event hub keeps events (Standard tier: at most 7).')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int = 7

@description('Optional. Throughput units of the namespace.')
@minValue(1)
@maxValue(40)
param capacity int = 1

@description('Optional. Whether the namespace accepts traffic from public networks.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Optional. Action for public traffic that matches no rule. "Deny" with public access enabled admits only private endpoints and trusted Azure services (such as a data collection rule reading the hub).')
@allowed([
  'Allow'
  'Deny'
])
param networkDefaultAction string = 'Allow'

@description('Optional. Location of the namespace.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// Built-in role: Azure Event Hubs Data Sender (send only; no receive, no management).
var eventHubsDataSenderRoleId = '2b629674-e913-4c01-ae53-ef4638d8f975'

// ============= //
//   Resources   //
// ============= //

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: capacity
  }
  properties: {
    // Entra ID only: SAS keys and connection strings with keys are refused.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess
  }
}

resource networkRules 'Microsoft.EventHub/namespaces/networkRuleSets@2024-01-01' = {
  parent: namespace
  name: 'default'
  properties: {
    publicNetworkAccess: publicNetworkAccess
    defaultAction: networkDefaultAction
    trustedServiceAccessEnabled: true
    ipRules: []
    virtualNetworkRules: []
  }
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
  }
}

resource consumerGroups 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = [
  for consumerGroupName in consumerGroupNames: {
    parent: eventHub
    name: consumerGroupName
  }
]

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHub.id, senderPrincipalId, eventHubsDataSenderRoleId)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventHubsDataSenderRoleId)
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The name of the namespace.')
output namespaceName string = namespace.name

@description('The resource ID of the namespace.')
output namespaceResourceId string = namespace.id

@description('The namespace host name (EVENTHUB_CONNECTION__fullyQualifiedNamespace), e.g. name.servicebus.windows.net; taken from the service endpoint so national clouds get their own suffix.')
output fullyQualifiedNamespace string = split(split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), '/')[0], ':')[0]

@description('The name of the event hub.')
output eventHubName string = eventHub.name

@description('The resource ID of the event hub.')
output eventHubResourceId string = eventHub.id
