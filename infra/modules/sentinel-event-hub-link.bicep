metadata name = 'Sentinel event hub link'
metadata description = 'Lets a data collection rule read one event hub: Azure Event Hubs Data Receiver for the rule\'s identity on that hub, and the rule association scoped to the hub. Deployed to the hub\'s resource group by sentinel.bicep.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the Event Hubs namespace.')
param eventHubNamespaceName string

@description('Required. Name of the event hub the rule reads.')
param eventHubName string

@description('Required. Resource ID of the data collection rule.')
param dataCollectionRuleId string

@description('Required. Principal ID of the rule\'s system-assigned identity.')
param dataCollectionRulePrincipalId string

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
  name: guid(eventHub.id, dataCollectionRuleId, eventHubsDataReceiverRoleId)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventHubsDataReceiverRoleId)
    principalId: dataCollectionRulePrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The association starts ingestion, so it waits for the role: reading begins with every retained event on the hub.
resource association 'Microsoft.Insights/dataCollectionRuleAssociations@2023-03-11' = {
  name: 'm365-audit-sentinel'
  scope: eventHub
  properties: {
    dataCollectionRuleId: dataCollectionRuleId
  }
  dependsOn: [
    receiver
  ]
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the association.')
output associationResourceId string = association.id
