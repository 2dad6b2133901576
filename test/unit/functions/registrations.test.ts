import { app } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';

describe('function registrations', () => {
  it('declares the triggers on the app settings of the configuration contract', async () => {
    const timer = vi.spyOn(app, 'timer').mockImplementation(() => undefined);
    const queue = vi.spyOn(app, 'storageQueue').mockImplementation(() => undefined);
    await import('../../../functions/pollContent.js');
    await import('../../../functions/pollSecurity.js');
    await import('../../../functions/ingestContent.js');
    await import('../../../functions/onPoison.js');
    await import('../../../functions/pollStream.js');
    await import('../../../functions/sweepContent.js');
    const http = vi.spyOn(app, 'http').mockImplementation(() => undefined);
    await import('../../../functions/reconcile.js');
    await import('../../../functions/status.js');
    await import('../../../functions/healGaps.js');
    expect(timer).toHaveBeenCalledWith('reconcile', expect.objectContaining({ schedule: '%RECONCILE_SCHEDULE%' }));
    expect(http).toHaveBeenCalledWith('status', expect.objectContaining({ methods: ['GET'], authLevel: 'function', route: 'status' }));
    expect(timer).toHaveBeenCalledWith('pollContent', expect.objectContaining({ schedule: '%POLL_SCHEDULE%', runOnStartup: false }));
    expect(timer).toHaveBeenCalledWith('healGaps', expect.objectContaining({ schedule: '%HEAL_SCHEDULE%', runOnStartup: false }));
    expect(timer).toHaveBeenCalledWith('pollSecurity', expect.objectContaining({ schedule: '%POLL_SCHEDULE%', runOnStartup: false }));
    expect(queue).toHaveBeenCalledWith('ingestContent', expect.objectContaining({ queueName: '%CONTENT_QUEUE_NAME%', connection: 'AzureWebJobsStorage' }));
    expect(queue).toHaveBeenCalledWith('onPoison', expect.objectContaining({ queueName: '%CONTENT_QUEUE_NAME%-poison', connection: 'AzureWebJobsStorage' }));
    expect(queue).toHaveBeenCalledWith('pollStream', expect.objectContaining({ queueName: '%POLL_QUEUE_NAME%', connection: 'AzureWebJobsStorage' }));
    expect(timer).toHaveBeenCalledWith('sweepContent', expect.objectContaining({ schedule: '%SWEEP_SCHEDULE%', runOnStartup: false }));
  });

  it('keeps host.json in line with the delivery policy: 5 attempts, a visibility timeout between them, base64 messages', async () => {
    const { default: host } = await import('../../../host.json', { with: { type: 'json' } });
    expect(host.extensions.queues).toMatchObject({ maxDequeueCount: 5, messageEncoding: 'base64' });
    expect(host.extensions.queues.visibilityTimeout).not.toBe('00:00:00');
    expect(host.extensionBundle.version).toBe('[4.*, 5.0.0)');
  });
});
