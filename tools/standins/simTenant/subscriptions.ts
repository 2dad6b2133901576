import type { ContentType } from './types.js';

/** A subscription's state; 'none' = never started (or reset). */
export type SubscriptionStatus = 'enabled' | 'disabled' | 'none';

/** One (tenant, content type) subscription. */
export interface Subscription {
  status: SubscriptionStatus;
  startCalls: number;
  lastStartAt?: number;
  /** Who the AF20023 message says disabled it. */
  disabledBy: string;
  /** `/start` answers 200 but leaves it disabled. */
  adminLocked: boolean;
  /** Start of the current disabled period, when disabled. */
  disabledSince?: number;
  /** Closed disabled periods [from, to): content created then is never exposed. */
  gaps: [number, number][];
  /** When the subscription was first enabled (onboarding: first content delay and backfill count from here). */
  firstStartedAt?: number;
}

/** Outcome of a `/start` call. */
export type StartOutcome = 'started' | 'already-enabled' | 'locked';

/** Subscription state per (tenant, content type). */
export class Subscriptions {
  private readonly subs = new Map<string, Subscription>();

  get(tenantId: string, contentType: ContentType): Readonly<Subscription> {
    return this.entry(tenantId, contentType);
  }

  /** Applies a `/start` call at feed time `now` (the caller enforces the 15-minute rule). */
  start(tenantId: string, contentType: ContentType, now: number): StartOutcome {
    const sub = this.entry(tenantId, contentType);
    sub.startCalls++;
    sub.lastStartAt = now;
    if (sub.status === 'enabled') return 'already-enabled';
    if (sub.adminLocked) return 'locked';
    this.enable(sub, now);
    return 'started';
  }

  /** `/stop`: false when there is no subscription to stop. */
  stop(tenantId: string, contentType: ContentType, now: number): boolean {
    const sub = this.entry(tenantId, contentType);
    if (sub.status === 'none') return false;
    this.disable(sub, now, 'a tenant admin');
    return true;
  }

  /** Forces a state, as an administrator would (tests). */
  set(tenantId: string, contentType: ContentType, status: SubscriptionStatus, now: number, adminLocked: boolean): void {
    const sub = this.entry(tenantId, contentType);
    sub.adminLocked = status === 'disabled' && adminLocked;
    if (status === 'none') {
      this.subs.set(key(tenantId, contentType), fresh());
    } else if (status === 'enabled') {
      this.enable(sub, now);
    } else {
      this.disable(sub, now, adminLocked ? 'a service admin' : 'a tenant admin');
    }
  }

  /** Whether content created at `contentCreated` was produced while the subscription was enabled. */
  exposes(tenantId: string, contentType: ContentType, contentCreated: number): boolean {
    const sub = this.entry(tenantId, contentType);
    if (sub.disabledSince !== undefined && contentCreated >= sub.disabledSince) return false;
    return !sub.gaps.some(([from, to]) => contentCreated >= from && contentCreated < to);
  }

  private enable(sub: Subscription, now: number): void {
    sub.firstStartedAt ??= now;
    if (sub.disabledSince !== undefined) sub.gaps.push([sub.disabledSince, now]);
    sub.disabledSince = undefined;
    sub.status = 'enabled';
  }

  private disable(sub: Subscription, now: number, by: string): void {
    if (sub.status !== 'disabled') sub.disabledSince = now;
    sub.status = 'disabled';
    sub.disabledBy = by;
  }

  private entry(tenantId: string, contentType: ContentType): Subscription {
    const k = key(tenantId, contentType);
    let sub = this.subs.get(k);
    if (!sub) this.subs.set(k, (sub = fresh()));
    return sub;
  }
}

const key = (tenantId: string, contentType: ContentType) => `${tenantId}|${contentType}`;
const fresh = (): Subscription => ({ status: 'none', startCalls: 0, disabledBy: 'a tenant admin', adminLocked: false, gaps: [] });
