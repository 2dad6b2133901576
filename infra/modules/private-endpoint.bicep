metadata name = 'Private endpoint'
metadata description = 'One private endpoint for one sub-resource of a service, registered in its private DNS zone.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the private endpoint.')
param name string

@description('Required. Resource ID of the service the endpoint connects to.')
param serviceResourceId string

@description('Required. The sub-resource (group ID) to connect: blob, queue, table, namespace or vault.')
@allowed([
  'blob'
  'queue'
  'table'
  'namespace'
  'vault'
])
param groupId string

@description('Required. Resource ID of the subnet that holds the endpoint.')
param subnetId string

@description('Required. Resource ID of the private DNS zone the endpoint registers its address in.')
param privateDnsZoneId string

@description('Optional. Location of the endpoint (the virtual network\'s location).')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// ============= //
//   Resources   //
// ============= //

resource privateEndpoint 'Microsoft.Network/privateEndpoints@2024-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: serviceResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource dnsZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-01-01' = {
  parent: privateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the private endpoint.')
output resourceId string = privateEndpoint.id
