/**
 * The simulated tenants' Defender XDR incidents and alerts (Graph security shapes).
 * Unlike content blobs they are mutable, so they are materialized: each tenant's history is generated
 * slot by slot (a pure function of seed, tenant and slot) as the feed clock reaches it, and then lives
 * in memory where scheduled and explicit changes make new revisions. A generated revision becomes
 * visible a little after its lastUpdateDateTime (usually under a minute, sometimes up to 8), the
 * indexing lag a poller's overlap exists for.
 */
import { Rng } from './rng.js';
import type { TenantState } from './tenants.js';
import { HOUR, MINUTE, graphStamp, graphTimeKey } from './time.js';
import type { GraphAlert, GraphIncident, SecurityChange } from './types.js';

/** Which alerts a product raises, and the evidence it attaches. */
interface Profile {
  serviceSource: string;
  productName: string;
  detectionSources: readonly string[];
  /** First two letters of its alert ids, as the services use them. */
  prefix: string;
  alerts: readonly { title: string; category: string; techniques: readonly string[]; threat?: string }[];
  evidence: readonly EvidenceKind[];
}

type EvidenceKind = 'device' | 'user' | 'ip' | 'url' | 'file' | 'process' | 'mailbox' | 'cloudApplication';

// Three of these sources and several detection sources are evolvable enum members (after
// unknownFutureValue): Graph shows them only to clients that send Prefer: include-unknown-enum-members.
const PROFILES: readonly Profile[] = [
  {
    serviceSource: 'microsoftDefenderForEndpoint',
    productName: 'Microsoft Defender for Endpoint',
    detectionSources: ['microsoftDefenderForEndpoint', 'antivirus', 'customDetection', 'automatedInvestigation'],
    prefix: 'da',
    alerts: [
      { title: 'Suspicious PowerShell command line', category: 'Execution', techniques: ['T1059.001'] },
      { title: "'Mimikatz' credential theft tool", category: 'CredentialAccess', techniques: ['T1003.001'], threat: 'Mimikatz' },
      { title: 'Suspicious scheduled task', category: 'Persistence', techniques: ['T1053.005'] },
      { title: "An active 'Qakbot' malware was detected", category: 'Malware', techniques: [], threat: 'Qakbot' },
    ],
    evidence: ['device', 'process', 'file', 'user'],
  },
  {
    serviceSource: 'microsoftDefenderForOffice365',
    productName: 'Microsoft Defender for Office 365',
    detectionSources: ['microsoftDefenderForOffice365'],
    prefix: 'fa',
    alerts: [
      { title: 'Email messages containing malicious URL removed after delivery', category: 'InitialAccess', techniques: ['T1566.002'] },
      { title: 'A potentially malicious URL click was detected', category: 'InitialAccess', techniques: ['T1204.001'] },
    ],
    evidence: ['mailbox', 'url', 'user'],
  },
  {
    serviceSource: 'microsoftDefenderForIdentity',
    productName: 'Microsoft Defender for Identity',
    detectionSources: ['microsoftDefenderForIdentity'],
    prefix: 'aa',
    alerts: [
      { title: 'Suspected DCSync attack (replication of directory services)', category: 'CredentialAccess', techniques: ['T1003.006'] },
      { title: 'Account enumeration reconnaissance', category: 'Discovery', techniques: ['T1087.002'] },
    ],
    evidence: ['user', 'device', 'ip'],
  },
  {
    serviceSource: 'microsoftDefenderForCloudApps',
    productName: 'Microsoft Defender for Cloud Apps',
    detectionSources: ['cloudAppSecurity'],
    prefix: 'ca',
    alerts: [
      { title: 'Impossible travel activity', category: 'InitialAccess', techniques: ['T1078'] },
      { title: 'Mass download by a single user', category: 'Exfiltration', techniques: ['T1530'] },
    ],
    evidence: ['user', 'ip', 'cloudApplication'],
  },
  {
    serviceSource: 'azureAdIdentityProtection',
    productName: 'Microsoft Entra ID Protection',
    detectionSources: ['azureAdIdentityProtection'],
    prefix: 'ad',
    alerts: [
      { title: 'Unfamiliar sign-in properties', category: 'InitialAccess', techniques: ['T1078.004'] },
      { title: 'Password spray', category: 'CredentialAccess', techniques: ['T1110.003'] },
    ],
    evidence: ['user', 'ip'],
  },
  {
    serviceSource: 'dataLossPrevention',
    productName: 'Microsoft Data Loss Prevention',
    detectionSources: ['microsoftDataLossPrevention'],
    prefix: 'dl',
    alerts: [{ title: 'DLP policy (Financial data) matched for a document shared externally', category: 'Exfiltration', techniques: [] }],
    evidence: ['user', 'file'],
  },
  {
    serviceSource: 'microsoftDefenderForCloud',
    productName: 'Microsoft Defender for Cloud',
    detectionSources: ['microsoftDefenderForServers'],
    prefix: 'dc',
    alerts: [{ title: 'Suspicious process executed on a virtual machine', category: 'Execution', techniques: ['T1059'] }],
    evidence: ['device', 'process'],
  },
  {
    serviceSource: 'microsoftInsiderRiskManagement',
    productName: 'Microsoft Insider Risk Management',
    detectionSources: ['microsoftInsiderRiskManagement'],
    prefix: 'ir',
    alerts: [{ title: 'Data theft by a departing user', category: 'Exfiltration', techniques: ['T1567'] }],
    evidence: ['user'],
  },
];

const USERS = ['adele.vance', 'alex.wilber', 'megan.bowen', 'lee.gu', 'nestor.wilke', 'pradeep.gupta', 'lynne.robbins', 'diego.siciliani'];
const HOSTS = ['ws-fin-014', 'ws-hr-203', 'lt-dev-077', 'srv-sql-02', 'srv-file-01', 'lt-exec-003'];
const SEVERITIES = ['informational', 'low', 'medium', 'high'] as const;
const RESOLUTIONS: readonly (readonly [string, string])[] = [
  ['truePositive', 'malware'],
  ['truePositive', 'phishing'],
  ['truePositive', 'compromisedAccount'],
  ['falsePositive', 'notMalicious'],
  ['informationalExpectedActivity', 'securityTesting'],
  ['informationalExpectedActivity', 'lineOfBusinessApplication'],
];

/** An incident as stored: its current revision and the ids of its alerts. */
interface StoredIncident {
  incident: GraphIncident;
  alertIds: string[];
}

/** A change the generator scheduled for later (an analyst taking or resolving the incident). */
interface Scheduled {
  at: number;
  incidentId: string;
  change: SecurityChange;
}

interface TenantSecurity {
  incidents: Map<string, StoredIncident>;
  /** When each entity's current revision became (or becomes) listable, in feed time. */
  visibleAt: WeakMap<object, number>;
  alerts: Map<string, GraphAlert>;
  /** The next generator slot not materialized yet. */
  nextSlot: number;
  scheduled: Scheduled[];
  /** Incidents added by tests. */
  added: number;
  /** Revisions made through the API (keys their extra fraction digits). */
  revisions: number;
}

/** Every tenant's incidents and alerts; each call first catches the tenant up with the feed clock. */
export class SecurityCatalog {
  private readonly tenants = new Map<string, TenantSecurity>();

  constructor(
    private readonly seed: number,
    private readonly specs: ReadonlyMap<string, TenantState>,
  ) {}

  /** Incidents whose current revision is visible at `now` (lastUpdateDateTime ≤ now), with their alert ids. */
  incidents(tenantId: string, now: number): StoredIncident[] {
    const state = this.sync(tenantId, now);
    return [...state.incidents.values()].filter((s) => (state.visibleAt.get(s.incident) ?? Infinity) <= now);
  }

  alerts(tenantId: string, now: number): GraphAlert[] {
    const state = this.sync(tenantId, now);
    return [...state.alerts.values()].filter((a) => (state.visibleAt.get(a) ?? Infinity) <= now);
  }

  /** The current revisions of some alerts (those of an incident), visible or not yet. */
  alertsById(tenantId: string, ids: readonly string[]): GraphAlert[] {
    const alerts = this.tenant(tenantId).alerts;
    return ids.map((id) => alerts.get(id)).filter((a): a is GraphAlert => a !== undefined);
  }

  addIncident(tenantId: string, now: number, spec: { createdAt?: number; alerts?: number; severity?: string; displayName?: string }): GraphIncident {
    const state = this.sync(tenantId, now);
    const id = String(900_000 + ++state.added);
    const rng = new Rng(`${this.seed}|${tenantId}|added|${id}`);
    const created = this.generate(tenantId, state, id, spec.createdAt ?? now, spec.alerts ?? 2, rng, false);
    if (spec.severity !== undefined) created.severity = spec.severity;
    if (spec.displayName !== undefined) created.displayName = spec.displayName;
    return structuredClone(created);
  }

  updateIncident(tenantId: string, now: number, incidentId: string, change: SecurityChange): GraphIncident {
    const state = this.sync(tenantId, now);
    const stored = state.incidents.get(incidentId);
    if (!stored) throw new Error(`Unknown incident ${incidentId} in tenant ${tenantId}`);
    this.apply(state, stored, change, change.at ?? now);
    return structuredClone(stored.incident);
  }

  updateAlert(tenantId: string, now: number, alertId: string, change: SecurityChange): GraphAlert {
    const state = this.sync(tenantId, now);
    const alert = state.alerts.get(alertId);
    if (!alert) throw new Error(`Unknown alert ${alertId} in tenant ${tenantId}`);
    this.reviseAlert(state, alert, change, change.at ?? now);
    return structuredClone(alert);
  }

  private tenant(tenantId: string): TenantSecurity {
    let state = this.tenants.get(tenantId);
    if (!state) {
      state = { incidents: new Map(), visibleAt: new WeakMap(), alerts: new Map(), nextSlot: 0, scheduled: [], added: 0, revisions: 0 };
      this.tenants.set(tenantId, state);
    }
    return state;
  }

  /** Generates the slots the feed clock has reached and applies the scheduled changes that are due. */
  private sync(tenantId: string, now: number): TenantSecurity {
    const spec = this.specs.get(tenantId);
    if (!spec) throw new Error(`Unknown simulated tenant ${tenantId}`);
    const state = this.tenant(tenantId);
    if (spec.incidentsPerHour > 0) {
      const interval = HOUR / spec.incidentsPerHour;
      for (;;) {
        const slot = state.nextSlot;
        const rng = new Rng(`${this.seed}|${tenantId}|incident|${slot}`);
        const createdAt = Math.floor(spec.stream.historyStart + slot * interval + rng.next() * interval * 0.8);
        if (createdAt > now) break;
        this.generate(tenantId, state, String(100_000 + slot), createdAt, rng.int(1, 3), rng, true);
        state.nextSlot++;
      }
    }
    const due = state.scheduled.filter((s) => s.at <= now).sort((a, b) => a.at - b.at);
    state.scheduled = state.scheduled.filter((s) => s.at > now);
    for (const s of due) {
      const stored = state.incidents.get(s.incidentId);
      if (stored) this.apply(state, stored, s.change, s.at);
    }
    return state;
  }

  /**
   * One incident created at `createdAt` with its alerts, stored; a share of generated ones get an
   * analyst's change later. With `lag`, each revision becomes visible a little after its timestamp.
   */
  /** `generated` incidents get a visibility lag and a life cycle of their own; added ones change only when a test says so. */
  private generate(tenantId: string, state: TenantSecurity, id: string, createdAt: number, alertCount: number, rng: Rng, generated: boolean): GraphIncident {
    const alerts: GraphAlert[] = [];
    for (let k = 0; k < alertCount; k++) alerts.push(generateAlert(tenantId, id, createdAt, new Rng(`${rng.hex(8)}|${id}|${k}`)));
    const lagMs = () => (!generated ? 0 : rng.chance(0.9) ? rng.int(0, 60) * 1000 : rng.int(2, 8) * MINUTE);
    const severity = SEVERITIES[Math.max(...alerts.map((a) => SEVERITIES.indexOf(a.severity as (typeof SEVERITIES)[number])))]!;
    const categories = [...new Set(alerts.map((a) => a.category))];
    const incident: GraphIncident = {
      id,
      tenantId,
      status: 'active',
      incidentWebUrl: `https://security.microsoft.com/incidents/${id}?tid=${tenantId}`,
      redirectIncidentId: null,
      displayName: categories.length > 1 ? `Multi-stage incident involving ${categories.slice(0, 2).join(' & ')} on one endpoint` : `${alerts[0]!.title} involving one user`,
      description: null,
      severity,
      assignedTo: null,
      classification: 'unknown',
      determination: 'unknown',
      createdDateTime: graphStamp(createdAt, rng.digits(4)),
      // The alerts were correlated into the incident when it was created: nothing of it is newer.
      lastUpdateDateTime: graphStamp(createdAt, rng.digits(4)),
      customTags: [],
      systemTags: rng.chance(0.2) ? ['Defender Experts'] : [],
      summary: null,
      comments: [],
      lastModifiedBy: 'Microsoft 365 Defender-AlertCorrelation',
    };
    state.incidents.set(id, { incident, alertIds: alerts.map((a) => a.id) });
    state.visibleAt.set(incident, createdAt + lagMs());
    for (const alert of alerts) {
      state.alerts.set(alert.id, alert);
      state.visibleAt.set(alert, Date.parse(alert.lastUpdateDateTime) + lagMs());
    }

    const roll = generated ? rng.next() : 1;
    if (roll < 0.3) {
      const [classification, determination] = rng.pick(RESOLUTIONS);
      state.scheduled.push({ at: createdAt + rng.int(1, 12) * HOUR, incidentId: id, change: { status: 'resolved', classification, determination } });
    } else if (roll < 0.45) {
      state.scheduled.push({ at: createdAt + rng.int(10, 120) * MINUTE, incidentId: id, change: { status: 'inProgress', assignedTo: `secops@${domainOf(tenantId)}` } });
    } else if (roll < 0.5) {
      state.scheduled.push({ at: createdAt + rng.int(10, 120) * MINUTE, incidentId: id, change: { status: 'awaitingAction' } });
    }
    return incident;
  }

  /** A new revision of an incident; resolving it resolves its alerts, each a revision of its own. */
  private apply(state: TenantSecurity, stored: StoredIncident, change: SecurityChange, at: number): void {
    const incident = stored.incident;
    const stamp = this.nextStamp(state, incident.lastUpdateDateTime, at);
    for (const key of ['status', 'severity', 'classification', 'determination', 'assignedTo'] as const) {
      if (change[key] !== undefined) incident[key] = change[key] as never;
    }
    incident.lastUpdateDateTime = stamp;
    state.visibleAt.set(incident, change.visibleAt ?? at);
    if (change.status === 'resolved') {
      for (const alert of this.alertsById(incident.tenantId, stored.alertIds)) {
        this.reviseAlert(state, alert, { status: 'resolved', classification: change.classification, determination: change.determination, visibleAt: change.visibleAt }, at);
      }
    }
  }

  private reviseAlert(state: TenantSecurity, alert: GraphAlert, change: SecurityChange, at: number): void {
    const stamp = this.nextStamp(state, alert.lastUpdateDateTime, at);
    for (const key of ['status', 'severity', 'classification', 'determination', 'assignedTo'] as const) {
      if (change[key] !== undefined) alert[key] = change[key] as never;
    }
    if (change.status === 'resolved') alert.resolvedDateTime = stamp;
    alert.lastUpdateDateTime = stamp;
    state.visibleAt.set(alert, change.visibleAt ?? at);
  }

  /** A Graph timestamp at `at` that is later than `previous` (a revision never goes back in time). */
  private nextStamp(state: TenantSecurity, previous: string, at: number): string {
    const digits = String(++state.revisions % 10_000).padStart(4, '0');
    const candidate = graphStamp(at, digits);
    return graphTimeKey(candidate)! > graphTimeKey(previous)! ? candidate : graphStamp(Date.parse(previous) + 1, digits);
  }
}

function domainOf(tenantId: string): string {
  return `contoso${tenantId.slice(0, 4)}.onmicrosoft.com`;
}

function generateAlert(tenantId: string, incidentId: string, incidentCreatedAt: number, rng: Rng): GraphAlert {
  const profile = rng.pick(PROFILES);
  const kind = rng.pick(profile.alerts);
  const id = `${profile.prefix}${rng.digits(18)}_-${rng.digits(10)}`;
  const createdAt = incidentCreatedAt - rng.int(2, 20) * MINUTE;
  const firstActivity = createdAt - rng.int(5, 90) * MINUTE;
  const lastActivity = Math.min(createdAt, firstActivity + rng.int(0, 30) * MINUTE);
  const severity = rng.weighted([[1, 'informational'], [3, 'low'], [4, 'medium'], [2, 'high']] as const);
  const user = rng.pick(USERS);
  const host = rng.pick(HOSTS);
  return {
    '@odata.type': '#microsoft.graph.security.alert',
    id,
    providerAlertId: id.slice(2),
    incidentId,
    status: 'new',
    severity,
    classification: 'unknown',
    determination: 'unknown',
    serviceSource: profile.serviceSource,
    detectionSource: rng.pick(profile.detectionSources),
    productName: profile.productName,
    detectorId: rng.guid(),
    tenantId,
    title: kind.title,
    description: `${kind.title} was observed for ${user} on ${host}. Review the evidence and the process tree.`,
    recommendedActions: 'Isolate the device if the activity is unexpected; reset the credentials of the user involved.',
    category: kind.category,
    assignedTo: null,
    alertWebUrl: `https://security.microsoft.com/alerts/${id}?tid=${tenantId}`,
    incidentWebUrl: `https://security.microsoft.com/incidents/${incidentId}?tid=${tenantId}`,
    actorDisplayName: null,
    threatDisplayName: kind.threat ?? null,
    threatFamilyName: kind.threat ?? null,
    mitreTechniques: [...kind.techniques],
    createdDateTime: graphStamp(createdAt, rng.digits(4)),
    // Last touched when the incident correlated it.
    lastUpdateDateTime: graphStamp(incidentCreatedAt - rng.int(0, 120) * 1000, rng.digits(4)),
    resolvedDateTime: null,
    firstActivityDateTime: graphStamp(firstActivity, rng.digits(4)),
    lastActivityDateTime: graphStamp(lastActivity, rng.digits(4)),
    comments: [],
    evidence: profile.evidence.map((k) => evidence(k, tenantId, user, host, createdAt, rng)),
    systemTags: [],
    alertPolicyId: null,
    additionalData: {},
  };
}

/** One evidence entity, typed by `@odata.type` as Graph types them. */
function evidence(kind: EvidenceKind, tenantId: string, user: string, host: string, at: number, rng: Rng): Record<string, unknown> {
  const domain = domainOf(tenantId);
  const userRng = new Rng(`${tenantId}|user|${user}`);
  const account = {
    accountName: user.replace('.', ''),
    domainName: 'CONTOSO',
    userSid: `S-1-5-21-${userRng.digits(10)}-${userRng.digits(10)}-${userRng.digits(9)}-${userRng.int(1000, 9999)}`,
    azureAdUserId: userRng.guid(),
    userPrincipalName: `${user}@${domain}`,
    displayName: user.split('.').map((p) => p[0]!.toUpperCase() + p.slice(1)).join(' '),
  };
  const common = { createdDateTime: graphStamp(at, rng.digits(4)), verdict: rng.pick(['suspicious', 'malicious', 'unknown']), remediationStatus: 'none', remediationStatusDetails: null, roles: [], detailedRoles: [], tags: [] };
  const type = (name: string) => ({ '@odata.type': `#microsoft.graph.security.${name}Evidence` });
  const ip = rng.chance(0.2) ? `2001:db8:${rng.hex(4)}::${rng.hex(4)}` : `${rng.int(20, 200)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  switch (kind) {
    case 'device':
      return {
        ...type('device'), ...common, detailedRoles: ['PrimaryDevice'],
        mdeDeviceId: rng.hex(40), azureAdDeviceId: rng.guid(), deviceDnsName: `${host}.${domain}`, hostName: host,
        osPlatform: rng.pick(['Windows10', 'Windows11', 'WindowsServer2022']), osBuild: rng.int(19045, 26100), healthStatus: 'active',
        riskScore: rng.pick(['low', 'medium', 'high']), rbacGroupName: 'Workstations', onboardingStatus: 'onboarded', defenderAvStatus: 'updated',
        loggedOnUsers: [{ accountName: account.accountName, domainName: account.domainName }], ipInterfaces: [ip],
      };
    case 'user':
      return { ...type('user'), ...common, userAccount: account };
    case 'ip':
      return { ...type('ip'), ...common, ipAddress: ip, countryLetterCode: rng.pick(['US', 'DE', 'NL', 'BR', 'SG']) };
    case 'url':
      return { ...type('url'), ...common, url: `https://${rng.pick(['login-verify', 'docs-share', 'invoice-view'])}.${rng.pick(['example', 'test'])}/${rng.hex(8)}` };
    case 'file':
      return { ...type('file'), ...common, fileDetails: { fileName: `${rng.pick(['invoice', 'payroll', 'setup'])}_${rng.hex(4)}.${rng.pick(['docx', 'xlsx', 'exe'])}`, filePath: 'C:\\Users\\Public\\Downloads', sha1: rng.hex(40), sha256: rng.hex(64), fileSize: rng.int(10_000, 9_000_000) } };
    case 'process':
      return {
        ...type('process'), ...common, processId: rng.int(1000, 60000),
        processCommandLine: `powershell.exe -NoProfile -EncodedCommand ${Buffer.from(rng.hex(24)).toString('base64')}`,
        imageFile: { fileName: 'powershell.exe', filePath: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0', sha256: rng.hex(64) },
        userAccount: account,
      };
    case 'mailbox':
      return { ...type('mailbox'), ...common, primaryAddress: account.userPrincipalName, displayName: account.displayName, userAccount: account };
    case 'cloudApplication':
      return { ...type('cloudApplication'), ...common, appId: rng.int(10000, 30000), displayName: rng.pick(['Microsoft SharePoint Online', 'Microsoft Exchange Online', 'Microsoft Teams']) };
  }
}
