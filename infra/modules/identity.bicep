metadata name = 'Pipeline identity'
metadata description = 'The one user-assigned managed identity the function app uses for Storage, Event Hubs, Key Vault and Application Insights.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Optional. Location of the identity.')
param location string = resourceGroup().location

@description('Optional. Tags of the resource.')
param tags object = {}

// ============= //
//   Resources   //
// ============= //

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the identity.')
output resourceId string = identity.id

@description('The client (application) ID of the identity; the app passes it as AZURE_CLIENT_ID.')
output clientId string = identity.properties.clientId

@description('The principal (object) ID of the identity; role assignments target it.')
output principalId string = identity.properties.principalId
