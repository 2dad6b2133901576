// Runs the test Event Hubs broker as a process, for `npm run local` and manual runs:
//   npx tsx tools/standins/eventHubBroker/cli.ts --port 5672 --hub audit --partitions 4 [--out events.ndjson]
// Prints the connection string (its key is a placeholder: SAS verification is off here), appends every accepted
// event to --out as one NDJSON line, and stops cleanly on SIGINT/SIGTERM.
import { createWriteStream, type WriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitOnHelp } from '../../common/cliHelp.js';
import { startEventHubBroker, type ReceivedEvent } from './broker.js';

const USAGE =
  'usage: tsx tools/standins/eventHubBroker/cli.ts [--host 127.0.0.1] [--port 5672] --hub <name> [--hub <name> ...] ' +
  '[--partitions 4] [--max-message-size 1048576] [--out events.ndjson]';

/** One NDJSON line: the body as JSON when it parses as UTF-8 JSON, else base64 (flagged by bodyEncoding). */
function toLine(event: ReceivedEvent): string {
  const { hub, partitionId, sequenceNumber, partitionKey, messageId, properties } = event;
  let body: unknown;
  let bodyEncoding: 'base64' | undefined;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(event.body));
  } catch {
    body = event.body.toString('base64');
    bodyEncoding = 'base64';
  }
  return `${JSON.stringify({ hub, partitionId, sequenceNumber, partitionKey, messageId, properties, body, bodyEncoding })}\n`;
}

function integer(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got '${value}'`);
  return n;
}

async function main(): Promise<void> {
  exitOnHelp(process.argv.slice(2), `${USAGE}\n\nRuns the local Event Hubs test broker (AMQP 1.0) until Ctrl-C and prints its connection string.`);
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5672' },
      hub: { type: 'string', multiple: true },
      partitions: { type: 'string', default: '4' },
      'max-message-size': { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (!values.hub?.length) throw new Error('at least one --hub is required');
  const partitionCount = integer(values.partitions, '--partitions');
  const out: WriteStream | undefined = values.out ? createWriteStream(values.out, { flags: 'a' }) : undefined;
  const broker = await startEventHubBroker({
    host: values.host,
    port: integer(values.port, '--port'),
    hubs: values.hub.map((name) => ({ name, partitionCount })),
    ...(values['max-message-size'] ? { maxMessageSizeInBytes: integer(values['max-message-size'], '--max-message-size') } : {}),
    ...(out ? { onEvent: (event: ReceivedEvent) => out.write(toLine(event)) } : {}),
  });
  console.log(`Event Hubs test broker listening on ${broker.fullyQualifiedNamespace} (hubs: ${values.hub.join(', ')}; ${partitionCount} partitions each)`);
  console.log(broker.connectionString());

  const stop = async (signal: string) => {
    console.log(`${signal}: stopping`);
    await broker.close();
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  };
  process.once('SIGINT', (signal) => void stop(signal));
  process.once('SIGTERM', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exitCode = 1;
});
