import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../tools/local/azurite.js';

/**
 * Starts the stand-ins every integration test file shares: Azurite (blob, queue, table) in memory on
 * random loopback ports. Test files that need their own simulated tenant or broker state start those
 * in-process (they are cheap), so tests never depend on a process started by hand.
 */
export default async function setup(project: TestProject) {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return async () => {
    await azurite.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}
