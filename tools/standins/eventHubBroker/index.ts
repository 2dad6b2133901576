export { startEventHubBroker } from './broker.js';
export type { EventHubBroker, EventHubBrokerOptions, ReceivedEvent } from './broker.js';
export type { SasKey } from './sasToken.js';
