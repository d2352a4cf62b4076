/**
 * The SIP trunks toward the contact center (docs/sip.md): the ordered `sip.trunks` list, or
 * `contactCenterUri` as one implicit trunk when the list is empty (no probing, no registration:
 * exactly the behaviour before trunks existed).
 *
 * Per trunk: OPTIONS keepalive every `optionsIntervalS` feeding a reachability tracker with
 * hysteresis (`reachability.ts`), registration when enabled (`registration.ts`), digest
 * credentials for its address (installed in the user agent), and its outcome on calls. New calls
 * are planned over the trunks in order, those not known to be down first (`failover.ts` moves on
 * after 503, 408 or a transport error). State changes are events for the fleet (`sip/{trunk}`).
 */
import type { SipTransportProtocol } from '../core/transport';
import { explicitTransportForUri } from '../core/transport-factory';
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { systemClock } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { SipConfig, SipTrunkConfig } from '../../config/schema';
import { newCallId } from '../core/messages/build';
import { formatSipUri, parseSipUri } from '../core/messages/uri';
import { uriDestination } from '../core/dialogs/dialog';
import type { Destination } from '../core/transactions/transaction';
import type { DigestCredentials } from '../auth/authenticator';
import type { TrunkAttempt } from './failover';
import type { OutOfDialogRequest, OutOfDialogResult } from './out-of-dialog';
import { probeSucceeded, ReachabilityTracker, type Reachability } from './reachability';
import { TrunkRegistration, type RegistrationState } from './registration';

export interface TrunkState {
  name: string;
  /** The trunk's Request-URI template. */
  uri: string;
  reachability: Reachability;
  /** Usable for new calls: not known to be down. */
  up: boolean;
  registration: RegistrationState | 'disabled';
  registered: boolean;
  /** The last failure (probe, registration or call), or null. */
  lastError: string | null;
  /** Round trip of the last OPTIONS answered, ms. */
  rttMs: number | null;
  /** When reachability or registration last changed (epoch ms). */
  changedAtMs: number;
}

/** What the trunks need from the user agent (the real SipUserAgent satisfies it). */
export interface TrunkUserAgent {
  request(r: OutOfDialogRequest): Promise<OutOfDialogResult>;
  contactUri(user: string, over?: SipTransportProtocol): string;
  setCredentials(lookup: ((dest: Destination, realm: string) => DigestCredentials | undefined) | undefined): void;
  setTrunkRouter(router: TrunkRouter | undefined): void;
}

/** What the user agent asks the trunks when it places a call. */
export interface TrunkRouter {
  /** The attempts for a new call to `requestUri`, in order (empty: send as is, no failover). */
  plan(requestUri: string): TrunkAttempt[];
  report(trunk: string, outcome: { ok: boolean; status: number; reason: string }): void;
}

interface Trunk {
  config: SipTrunkConfig;
  destination: Destination;
  reach: ReachabilityTracker;
  registration: TrunkRegistration | undefined;
  lastError: string | null;
  rttMs: number | null;
  changedAtMs: number;
  probeTimer: TimerHandle | undefined;
}

/** The implicit trunk of a config without `sip.trunks`. */
export function effectiveTrunks(config: SipConfig): SipTrunkConfig[] {
  if (config.trunks.length > 0) return config.trunks;
  return [{ name: 'default', uri: config.contactCenterUri, register: { enabled: false, expiresS: 3600, retryMinS: 5, retryMaxS: 300 }, optionsIntervalS: 0, downAfter: 2, upAfter: 2 }];
}

/** The trunk's URI without a user part (OPTIONS and REGISTER target, §10.2). */
export function trunkHostUri(template: string): string {
  const uri = parseSipUri(template.replace('{called}', 'x'));
  return formatSipUri({ ...uri, user: undefined, password: undefined, headers: undefined });
}

export class SipTrunks extends TypedEmitter<{ 'trunk-state': [state: TrunkState] }> implements TrunkRouter {
  private readonly trunks: Trunk[];
  private readonly clock: Clock;
  private readonly log: Logger;
  private started = false;

  constructor(private readonly o: { config: SipConfig; ua: TrunkUserAgent; log: Logger; clock?: Clock }) {
    super();
    this.clock = o.clock ?? systemClock;
    this.log = o.log.child('sip-trunks');
    this.trunks = effectiveTrunks(o.config).map((config) => ({
      config,
      destination: uriDestination(config.uri.replace('{called}', 'x')),
      reach: new ReachabilityTracker({ downAfter: config.downAfter, upAfter: config.upAfter }),
      registration: undefined,
      lastError: null,
      rttMs: null,
      changedAtMs: this.clock.now(),
      probeTimer: undefined,
    }));
  }

  /** True when `sip.trunks` is configured (else the one implicit trunk does no routing). */
  get routing(): boolean {
    return this.o.config.trunks.length > 0;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.o.ua.setCredentials((dest, realm) => this.credentialsFor(dest, realm));
    if (this.routing) this.o.ua.setTrunkRouter(this);
    for (const t of this.trunks) {
      if (t.config.optionsIntervalS > 0) {
        this.probe(t);
        t.probeTimer = this.clock.setInterval(() => this.probe(t), t.config.optionsIntervalS * 1000);
      }
      if (t.config.register.enabled) {
        t.registration = this.newRegistration(t);
        t.registration.start();
      }
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    this.o.ua.setTrunkRouter(undefined);
    for (const t of this.trunks) t.probeTimer?.cancel();
    await Promise.all(this.trunks.map((t) => t.registration?.stop() ?? Promise.resolve()));
  }

  trunkStates(): TrunkState[] {
    return this.trunks.map((t) => this.stateOf(t));
  }

  plan(requestUri: string): TrunkAttempt[] {
    let called: string | undefined;
    try {
      called = parseSipUri(requestUri).user;
    } catch {
      called = undefined;
    }
    const usable = this.trunks.filter((t) => t.reach.state !== 'down');
    const down = this.trunks.filter((t) => t.reach.state === 'down');
    return [...usable, ...down].map((t) => ({ trunk: t.config.name, uri: t.config.uri.replace('{called}', called ?? '') }));
  }

  report(trunk: string, outcome: { ok: boolean; status: number; reason: string }): void {
    const t = this.trunks.find((x) => x.config.name === trunk);
    if (!t) return;
    if (!outcome.ok) t.lastError = `INVITE ${outcome.status} ${outcome.reason}`;
    const changed = t.reach.record(outcome.ok);
    if (!outcome.ok) this.log.warn('call attempt on trunk failed', { trunk, status: outcome.status, reason: outcome.reason });
    this.changed(t, changed || !outcome.ok);
  }

  private credentialsFor(dest: Destination, realm: string): DigestCredentials | undefined {
    const t = this.trunks.find((x) => x.destination.address === dest.address && x.destination.port === dest.port && x.config.auth !== undefined);
    const auth = t?.config.auth;
    if (!auth || (auth.realm !== undefined && auth.realm !== realm)) return undefined;
    return { username: auth.username, password: auth.password };
  }

  private newRegistration(t: Trunk): TrunkRegistration {
    const host = trunkHostUri(t.config.uri);
    const user = t.config.auth?.username ?? 'tonewall';
    const hostUri = parseSipUri(host);
    const aor = formatSipUri({ ...hostUri, user, params: new Map(), port: undefined });
    const reg = t.config.register;
    return new TrunkRegistration({
      registrarUri: host, aor, contactUri: this.o.ua.contactUri(user, explicitTransportForUri(host)), expiresS: reg.expiresS, retryMinS: reg.retryMinS, retryMaxS: reg.retryMaxS,
      send: (r) => this.o.ua.request(r), clock: this.clock, log: this.log,
      onChange: (_state, detail) => {
        if (detail !== null) t.lastError = detail;
        this.changed(t, true);
      },
    });
  }

  private probe(t: Trunk): void {
    const uri = trunkHostUri(t.config.uri);
    void this.o.ua.request({ method: 'OPTIONS', requestUri: uri, toUri: uri, fromUri: this.o.ua.contactUri('tonewall'), callId: newCallId('tonewall'), cseq: 1 }).then((r) => {
      if (!this.started) return;
      const ok = probeSucceeded(r.status);
      if (ok) t.rttMs = Math.round(r.rttMs);
      else t.lastError = `OPTIONS ${r.status} ${r.transportError ?? r.reason}`;
      const changed = t.reach.record(ok);
      if (changed) this.log.info(`trunk ${t.reach.state}`, { trunk: t.config.name, status: r.status, rttMs: t.rttMs });
      this.changed(t, changed);
    });
  }

  private changed(t: Trunk, emit: boolean): void {
    if (!emit) return;
    t.changedAtMs = this.clock.now();
    this.emit('trunk-state', this.stateOf(t));
  }

  private stateOf(t: Trunk): TrunkState {
    const reg = t.registration?.state;
    return {
      name: t.config.name, uri: t.config.uri, reachability: t.reach.state, up: t.reach.state !== 'down',
      registration: t.config.register.enabled ? reg ?? 'off' : 'disabled', registered: reg === 'registered',
      lastError: t.lastError, rttMs: t.rttMs, changedAtMs: t.changedAtMs,
    };
  }
}
