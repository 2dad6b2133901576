metadata name = 'Monitoring'
metadata description = 'Log Analytics workspace and workspace-based Application Insights that accepts only Entra ID-authenticated telemetry.'

// ============== //
//   Parameters   //
// ============== //

@description('Required. Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Principal ID of the function app identity; it is granted Monitoring Metrics Publisher on Application Insights.')
param principalId string

@description('Optional. Days the workspace keeps data.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

@description('Optional. Location of the resources.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// Built-in role: Monitoring Metrics Publisher (send telemetry to an Application Insights resource with local auth off).
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// ============= //
//   Resources   //
// ============= //

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // Queries must be authorized by Azure RBAC on the workspace or table, not by workspace-wide permissions alone.
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Only Entra ID-authenticated telemetry is accepted, so the instrumentation key alone cannot be used to write.
    DisableLocalAuth: true
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// =========== //
//   Outputs   //
// =========== //

@description('The resource ID of the Log Analytics workspace.')
output workspaceResourceId string = workspace.id

@description('The Application Insights connection string. It carries an instrumentation key and endpoints, no secret; writes need an Entra ID token.')
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString

@description('The resource ID of the Application Insights component.')
output applicationInsightsResourceId string = applicationInsights.id
