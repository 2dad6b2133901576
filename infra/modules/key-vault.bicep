metadata name = 'Credential vault'
metadata description = 'Key Vault for tenant credentials (client secrets, PEM certificates), authorized by Azure RBAC, with soft delete and purge protection.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the vault (3-24 letters, digits and hyphens, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Principal ID of the function app identity; it is granted Key Vault Secrets User (read secret values) on this vault.')
param principalId string

@description('Optional. Whether the vault accepts traffic from public networks. With "Disabled" secrets can only be set from a network that reaches the private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Optional. Days a deleted vault or secret can be recovered.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Optional. Location of the vault.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// Built-in role: Key Vault Secrets User (get and list secret values; no write, no delete, no keys or certificates).
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

// ============= //
//   Resources   //
// ============= //

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC instead of access policies: access is granted per principal and role, and audited like any other assignment.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // Purge protection cannot be turned off again; a deleted credential stays recoverable for the retention period.
    enablePurgeProtection: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The name of the vault.')
output name string = vault.name

@description('The resource ID of the vault.')
output resourceId string = vault.id

@description('The vault URI (KEY_VAULT_URL), e.g. https://name.vault.azure.net/.')
output uri string = vault.properties.vaultUri
