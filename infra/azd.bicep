metadata name = 'm365-audit-ingest (azd)'
metadata description = 'Entry point for the Azure Developer CLI (azure.yaml infra.module): derives the base name from the azd environment, reads the tenants from the M365_TENANTS environment value, and deploys main.bicep into the environment\'s resource group.'

targetScope = 'resourceGroup'

@description('Required. The azd environment name (AZURE_ENV_NAME); the base name of the resources is its letters and digits, at most 12.')
@minLength(1)
param environmentName string

@description('Optional. Location of the resources (AZURE_LOCATION).')
param location string = resourceGroup().location

@description('Required. The O365_TENANTS array as JSON text (azd env set M365_TENANTS "$(cat tenants.json)").')
@minLength(2)
param tenantsJson string

@description('Optional. The Microsoft 365 cloud of tenants that do not name one.')
param cloud string = 'commercial'

@description('Optional. Resource ID of a Log Analytics workspace with Microsoft Sentinel; empty for no Sentinel ingestion.')
param sentinelWorkspaceResourceId string = ''

@description('Optional. How events reach that workspace: eventHubDataImport (a data collection rule reads the hub; needs a dedicated cluster or a commitment tier) or logsIngestionApi (the forwarder function posts them to the Logs Ingestion API).')
@allowed([
  'eventHubDataImport'
  'logsIngestionApi'
])
param sentinelIngestionPath string = 'eventHubDataImport'

@description('Optional. Deploy the function app into a virtual network with private endpoints.')
param enablePrivateNetworking bool = false

var baseName = take(toLower(replace(replace(replace(environmentName, '-', ''), '_', ''), '.', '')), 12)

module pipeline 'main.bicep' = {
  name: 'm365-audit-ingest'
  params: {
    name: length(baseName) >= 2 ? baseName : 'm365audit'
    tenants: json(tenantsJson)
    cloud: cloud
    location: location
    sentinelWorkspaceResourceId: sentinelWorkspaceResourceId
    sentinelIngestionPath: sentinelIngestionPath
    enablePrivateNetworking: enablePrivateNetworking
    tags: {
      'azd-env-name': environmentName
      workload: 'm365-audit-ingest'
    }
  }
}

@description('The function app that azd deploys the service "app" to (found by its azd-service-name tag).')
output AZURE_FUNCTION_APP_NAME string = pipeline.outputs.functionAppName

@description('The Key Vault that holds the tenants\' credentials.')
output AZURE_KEY_VAULT_NAME string = pipeline.outputs.keyVaultName

@description('The storage account of the pipeline\'s state (for npm run ops with AzureWebJobsStorage__accountName).')
output AZURE_STORAGE_ACCOUNT_NAME string = pipeline.outputs.storageAccountName

@description('The Event Hubs namespace.')
output AZURE_EVENTHUBS_NAMESPACE string = pipeline.outputs.eventHubsFullyQualifiedNamespace
