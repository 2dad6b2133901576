/**
 * The test Event Hubs broker in its own process, so its AMQP decoding and storage never share a CPU
 * thread with the code being measured. Commands over IPC: `start` (→ connection string), `count`
 * (events and body bytes accepted since the last `reset`), `reset` (drops stored events, keeps links).
 */
import { startEventHubBroker, type EventHubBroker } from '../standins/eventHubBroker/index.js';
import { serveCommands } from '../common/ipc.js';

let broker: EventHubBroker | undefined;
let events = 0;
let bytes = 0;

const started = (): EventHubBroker => {
  if (!broker) throw new Error('the broker is not started');
  return broker;
};

serveCommands({
  async start({ hub, partitions }: { hub: string; partitions: number }) {
    broker = await startEventHubBroker({
      hubs: [{ name: hub, partitionCount: partitions }],
      onEvent: (event) => {
        events++;
        bytes += event.body.length;
      },
    });
    return broker.connectionString();
  },
  async count() {
    return { events, bytes, ...started().stats() };
  },
  async reset() {
    started().reset();
    events = 0;
    bytes = 0;
  },
  async close() {
    await broker?.close();
  },
});
