metadata name = 'Sentinel forwarder hub access'
metadata description = 'Lets the forwarder function read the event hub it forwards to the Logs Ingestion API: Azure Event Hubs Data Receiver for the app identity on that hub only. Deployed to the hub\'s resource group by main.bicep when sentinelIngestionPath is logsIngestionApi.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the Event Hubs namespace.')
param eventHubNamespaceName string

@description('Required. Name of the event hub the forwarder reads.')
param eventHubName string

@description('Required. Principal ID of the identity the function app runs as.')
param principalId string

// Built-in role: Azure Event Hubs Data Receiver (receive only, on this hub only).
var eventHubsDataReceiverRoleId = 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'

// ============= //
//   Resources   //
// ============= //

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubNamespaceName
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  parent: namespace
  name: eventHubName
}

resource receiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHub.id, principalId, eventHubsDataReceiverRoleId)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventHubsDataReceiverRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the role assignment.')
output roleAssignmentId string = receiver.id
