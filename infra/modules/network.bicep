metadata name = 'Private network'
metadata description = 'Virtual network with a Flex Consumption integration subnet and a private endpoint subnet, plus the private DNS zones for Storage, Event Hubs and Key Vault linked to it.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the virtual network.')
param name string

@description('Optional. Address space of the virtual network.')
param addressPrefix string = '10.40.0.0/16'

@description('Optional. Subnet the function app is integrated with (delegated to Microsoft.App/environments, as Flex Consumption requires).')
param functionSubnetPrefix string = '10.40.1.0/24'

@description('Optional. Subnet that holds the private endpoints.')
param privateEndpointSubnetPrefix string = '10.40.2.0/24'

@description('Optional. Location of the virtual network.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

var cloudName = environment().name
// environment() has no Service Bus suffix; these are the suffixes of the clouds that host Event Hubs.
var serviceBusSuffix = cloudName == 'AzureUSGovernment'
  ? 'servicebus.usgovcloudapi.net'
  : cloudName == 'AzureChinaCloud' ? 'servicebus.chinacloudapi.cn' : 'servicebus.windows.net'

var zoneNames = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  eventHubs: 'privatelink.${serviceBusSuffix}'
  // keyvaultDns is '.vault.azure.net' (or the national cloud's); private endpoints resolve through '.vaultcore.'.
  keyVault: 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'
}

// ============= //
//   Resources   //
// ============= //

resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'snet-function'
        properties: {
          addressPrefix: functionSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [
  for zone in items(zoneNames): {
    name: zone.value
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [
  for (zone, i) in items(zoneNames): {
    parent: zones[i]
    name: vnet.name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the function integration subnet.')
output functionSubnetId string = vnet.properties.subnets[0].id

@description('The resource ID of the private endpoint subnet.')
output privateEndpointSubnetId string = vnet.properties.subnets[1].id

@description('Resource IDs of the private DNS zones, by service: blob, queue, table, eventHubs, keyVault.')
output zoneIds object = toObject(items(zoneNames), zone => zone.key, zone => resourceId('Microsoft.Network/privateDnsZones', zone.value))
