import { Readable } from 'node:stream';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { BlobStore } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import { storageError } from './clients.js';

/** Quarantine and claim-check blobs; containers are created on first use. */
export class AzureBlobStore implements BlobStore {
  private readonly ready = new Map<string, Promise<unknown>>();

  constructor(private readonly service: BlobServiceClient) {}

  async put(container: string, name: string, content: string | AsyncIterable<Uint8Array>, options: { contentType?: string } & CallOptions = {}): Promise<string> {
    const containerClient = this.service.getContainerClient(container);
    try {
      let ready = this.ready.get(container);
      if (!ready) {
        ready = containerClient.createIfNotExists();
        this.ready.set(container, ready);
        ready.catch(() => this.ready.delete(container));
      }
      await ready;
      const blob = containerClient.getBlockBlobClient(name);
      const headers = { blobHTTPHeaders: { blobContentType: options.contentType ?? 'application/octet-stream' }, abortSignal: options.abortSignal };
      if (typeof content === 'string') await blob.upload(content, Buffer.byteLength(content), headers);
      else await blob.uploadStream(Readable.from(asBuffers(content)), 4 * 1024 * 1024, 4, headers);
      return blob.url;
    } catch (err) {
      throw storageError(`blob upload ${container}/${name}`, err);
    }
  }
}

/** uploadStream copies chunks with Buffer methods; fetch bodies yield plain Uint8Arrays. */
async function* asBuffers(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
