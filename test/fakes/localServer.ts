import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { IngestError } from '../../shared/core/errors.js';

/** Listens on a free port of 127.0.0.1; resolves to the server's base URL. */
export async function listenLocal(server: Server, scheme: 'http' | 'https'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes the server, cutting the connections still open (a test's streamed answers). */
export async function closeLocal(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** The IngestError `call` rejects with (it fails the test if the call resolves or rejects with anything else). */
export async function ingestErrorOf(call: () => Promise<unknown>): Promise<IngestError> {
  const error = await call().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}
