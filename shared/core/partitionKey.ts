import { createHash } from 'node:crypto';
import type { PartitionKeyMode } from './model.js';

/** Event Hubs accepts partition keys up to 128 characters. */
const MAX_KEY = 128;

/**
 * The partition key of a blob's events: its contentId (default: a blob's records stay together and in
 * order, our own re-sends land on the same partition), the tenant, or none (round-robin).
 */
export function partitionKeyFor(mode: PartitionKeyMode, tenantId: string, contentId: string): string | undefined {
  if (mode === 'none') return undefined;
  const key = mode === 'tenant' ? tenantId.toLowerCase() : contentId;
  return key.length <= MAX_KEY ? key : createHash('sha256').update(key).digest('hex');
}
