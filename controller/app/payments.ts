/**
 * Payments in the running appliance (DESIGN.md §2 "Secure payment session"): one PaymentManager,
 * its processor connector, and per call the uplink DSP whose secure-mode digits feed it.
 *
 * - kind "test": the in-process test processor over mutual TLS on 127.0.0.1 with a local PKI
 *   (openssl); kind "generic-jwe": the configured processor endpoint and files.
 * - Each call's UplinkDsp delivers digit codes (never strings) to `PaymentManager.key`, faults to
 *   `maskingFault`; every encoded uplink payload goes to `observePayload` (the masking record's
 *   independent second check).
 * - Session progress and results become `events/pay` outbox events (no digits: counts, validity,
 *   brand, last four); the ended session's record goes to the store; a second check that finds a digit
 *   is logged as a critical alarm.
 *
 * Agents steer payments with `command` (MQTT `pay.*`) and `execute` (SIP INFO on the call's dialog,
 * pay-sip-info.ts, confined to that call); the demo calls `startPayment` as the agent would.
 * `onUpdate` hands every masked snapshot (progress and the ended one) to the SIP side.
 */
import { join } from 'node:path';
import type { Clock } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { CompandingLaw } from '../../hw/card/types';
import type { PaymentsConfig } from '../config/schema';
import { UplinkDsp } from '../dsp/uplink-dsp';
import { connectorFromFiles } from '../secure/connector-from-files';
import { PaymentManager } from '../secure/payment-manager';
import { executePayCommand, parsePayCommand, type PayCommand, type PayReply } from '../secure/pay-commands';
import { paymentRecord } from '../secure/payment-record';
import type { PaymentRequest, PaymentSnapshot } from '../secure/payment-types';
import { JweHttpsConnector } from '../secure/processor-connector';
import type { ProcessorConnector } from '../secure/processor-types';
import { TestProcessor } from '../secure/test-processor';
import type { AlarmBody, PaySnapshotBody } from '../fleet/topics';
import type { JsonObject } from '../store/json';
import type { Store } from '../store/store';
import { localPki } from './local-pki';

export interface PaymentsServiceOptions {
  config: PaymentsConfig;
  stateDir: string;
  store: Store;
  /** The fleet reporter's side: outbox kick, the retained `pay/{id}` snapshot, alarms. */
  fleet: {
    kick(): void;
    setPaySnapshot(sessionId: string, snapshot: PaySnapshotBody | null): void;
    setAlarm(alarmId: string, alarm: AlarmBody | null): void;
  };
  log: Logger;
  clock: Clock;
}

/**
 * A masked update of a session, as `pay/{sessionId}` carries it: `final` is the ended snapshot (with
 * `result`); the same object goes to the fleet and, through pay-sip-info.ts, to the call's dialog.
 */
export type PayUpdateListener = (snapshot: PaySnapshotBody, final: boolean) => void;

export class PaymentsService {
  private readonly updateListeners: PayUpdateListener[] = [];
  private manager: PaymentManager | undefined;
  private testProcessor: TestProcessor | undefined;
  private readonly uplinks = new Map<string, UplinkDsp>();
  private readonly log: Logger;

  constructor(private readonly opts: PaymentsServiceOptions) {
    this.log = opts.log.child('payments');
  }

  get enabled(): boolean {
    return this.manager !== undefined;
  }

  async start(): Promise<void> {
    const c = this.opts.config;
    if (!c.enabled) return;
    let connector: ProcessorConnector;
    if (c.processor.kind === 'generic-jwe') {
      const p = c.processor;
      if (!p.url || !p.publicKeyFile || !p.caFile || !p.certFile || !p.keyFile) return; // the schema refuses this configuration
      connector = connectorFromFiles({ ...p, url: p.url, publicKeyFile: p.publicKeyFile, caFile: p.caFile, certFile: p.certFile, keyFile: p.keyFile }, this.opts.clock, this.opts.log);
    } else {
      let pki;
      try {
        pki = localPki(join(this.opts.stateDir, 'test-processor'));
      } catch (err) {
        this.log.warn('payments disabled: the test processor needs openssl for its certificates', { err: errorMessage(err) });
        return;
      }
      this.testProcessor = new TestProcessor({ tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca }, alg: c.processor.alg, clock: this.opts.clock, logger: this.opts.log, port: 0 });
      const port = await this.testProcessor.start();
      connector = new JweHttpsConnector({
        url: `https://127.0.0.1:${port}/payments`,
        alg: c.processor.alg,
        publicKeyPem: this.testProcessor.publicKeyPem,
        tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
        timeoutMs: c.processor.timeoutMs,
        clock: this.opts.clock,
        logger: this.opts.log,
      });
    }
    const manager = new PaymentManager({ policy: c, connector, clock: this.opts.clock, logger: this.opts.log, rememberRequests: c.rememberRequests });
    manager.on('progress', (s) => this.report('pay.progress', s));
    manager.on('ended', (s) => this.ended(s));
    manager.on('masking-alarm', (a) => {
      this.log.fatal('masking alarm: the second check found a digit in audio that left the appliance', { sessionId: a.sessionId, callId: a.callId, found: a.digitsFound });
      const alarmId = `masking-leak.${a.sessionId}`;
      this.opts.fleet.setAlarm(alarmId, {
        alarmId,
        severity: 'critical',
        source: `call/${a.callId}`,
        raisedAt: this.opts.clock.now(),
        text: `the masking second check found ${a.digitsFound} tone(s) in the audio that left during payment session ${a.sessionId}`,
      });
    });
    this.manager = manager;
    this.log.info('payments ready', { processor: c.processor.kind });
  }

  async stop(): Promise<void> {
    for (const callId of [...this.uplinks.keys()]) this.callEnded(callId);
    await this.testProcessor?.stop();
  }

  /** The uplink processor for a new call: the DSP in normal (transparent) mode, ready for secure mode. */
  uplinkFor(callId: string): UplinkDsp {
    const dsp = new UplinkDsp({
      policy: 'transparent',
      onDigit: (e) => this.manager?.key(callId, e),
      onFault: () => this.manager?.maskingFault(callId),
    });
    this.uplinks.set(callId, dsp);
    return dsp;
  }

  /** Every encoded uplink payload that leaves for the call (the second check listens to these). */
  observe(callId: string, payload: Uint8Array, law: CompandingLaw): void {
    this.manager?.observePayload(callId, payload, law);
  }

  callEnded(callId: string): void {
    this.manager?.hangup(callId);
    this.uplinks.delete(callId);
  }

  /** Starts a payment on a live call (the agent's request). */
  startPayment(request: PaymentRequest): PaymentSnapshot {
    const dsp = this.uplinks.get(request.callId);
    if (!this.manager) throw new Error('payments are not enabled on this appliance');
    if (!dsp) throw new Error(`call ${request.callId} is not active on this appliance`);
    return this.manager.start(request, dsp);
  }

  /**
   * An agent's command (MQTT `pay.start|cancel|clear_field|status`): parsed by the
   * secure layer's own schema, executed against this appliance's calls. Throws a TonewallError with a
   * clear message on bad parameters.
   */
  command(action: string, params: unknown): PayReply {
    if (!this.manager) return { ok: false, error: { code: 'payments_disabled', message: 'payments are not enabled on this appliance' } };
    return this.execute(parsePayCommand(action, params));
  }

  /**
   * A parsed command. `fromCallId` (SIP INFO: the dialog's call) confines it to that call: a session
   * of another call is answered as unknown, exactly like one that does not exist.
   */
  execute(cmd: PayCommand, fromCallId?: string): PayReply {
    if (!this.manager) return { ok: false, error: { code: 'payments_disabled', message: 'payments are not enabled on this appliance' } };
    return executePayCommand(this.manager, cmd, (callId) => this.uplinks.get(callId), fromCallId);
  }

  /** Every masked progress and result update of every session (the `pay/{sessionId}` snapshot). */
  onUpdate(listener: PayUpdateListener): void {
    this.updateListeners.push(listener);
  }

  get counters(): Record<string, number> | undefined {
    return this.manager ? { ...this.manager.counters } : undefined;
  }

  private report(type: string, s: PaymentSnapshot): void {
    const data = snapshotData(s);
    try {
      this.opts.fleet.setPaySnapshot(s.sessionId, data as PaySnapshotBody);
      this.opts.store.outbox.append('events/pay', data, type);
      this.opts.fleet.kick();
    } catch (err) {
      this.log.error('payment event not recorded', { sessionId: s.sessionId, err: errorMessage(err) });
    }
    this.notify(data as PaySnapshotBody, false);
  }

  private notify(snapshot: PaySnapshotBody, final: boolean): void {
    for (const listener of this.updateListeners) {
      try {
        listener(snapshot, final);
      } catch (err) {
        this.log.error('payment update listener failed', { sessionId: snapshot.sessionId, err: errorMessage(err) });
      }
    }
  }

  private ended(s: PaymentSnapshot): void {
    const r = paymentRecord(s);
    try {
      this.opts.store.transaction(() => {
        this.opts.store.payments.record(r);
        this.opts.store.outbox.append('events/pay', snapshotData(s), 'pay.ended');
      });
      this.opts.fleet.kick();
      this.opts.fleet.setPaySnapshot(s.sessionId, null);
    } catch (err) {
      this.log.error('payment record not persisted', { sessionId: s.sessionId, err: errorMessage(err) });
    }
    this.log.info('payment ended', { sessionId: s.sessionId, callId: s.callId, outcome: r.outcome, maskedTones: r.maskedTones, secondCheckDigits: r.secondCheckDigits });
    this.notify(snapshotData(s) as PaySnapshotBody, true);
  }
}

/** The outbox/MQTT form of a snapshot: JSON-safe, no digits (feedback carries counts, validity, brand, last four). */
function snapshotData(s: PaymentSnapshot): JsonObject {
  return JSON.parse(JSON.stringify(s)) as JsonObject;
}
