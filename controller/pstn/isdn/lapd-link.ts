/**
 * Q.921 data link procedures for one point-to-point data link (SAPI 0, TEI 0 on a PRI), either role.
 * Q.921 §5 and its SDL (Annex B), reduced to what a PRI needs: no TEI assignment procedure (the TEI is
 * fixed, so the link starts in TEI-assigned), no own-receiver-busy, no XID negotiation.
 *
 *            establish() / SABME sent                    UA(F=1) received
 *   TEI-assigned ───────────────────▶ awaiting-establishment ──────────────▶ multiple-frame-established
 *      ▲   │ SABME received → UA, ────────────────────────────────────────────────▶ │  ▲
 *      │   │                                                              T200/T203 │  │ response F=1
 *      │   └─ DISC/DM handled                                                       ▼  │
 *      │ UA/DM(F=1), N200×T200                   release()                       timer-recovery
 *      └────────────── awaiting-release ◀──────────────────────────────── (N200 × T200 → re-establish)
 *
 * Timers (Q.921 §5.9): T200 1 s (retransmission), N200 3 (retries), T203 10 s (idle supervision), k 7
 * (window for SAPI 0 at 64 kbit/s). Sequence variables V(S), V(A), V(R) modulo 128 (§3.5.2).
 * Pure: frames out through `sendFrame`, time through the injected Clock; nothing else is touched.
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { LapdWindow } from './lapd-window';

export { DEFAULT_LAPD_TIMERS, type LapdCounters, type LapdLinkEvents, type LapdRole, type LapdState, type LapdTimers } from './lapd-table';
import { LAPD_TABLE, DEFAULT_LAPD_TIMERS, type LapdCounters, type LapdHandler, type LapdInput, type LapdLinkEvents, type LapdRole, type LapdState, type LapdTimers } from './lapd-table';
import { decodeLapdFrame, describeLapdFrame, encodeLapdFrame, type LapdControl, type LapdFrame, type SFrameKind } from './lapd-frame';

export interface LapdLinkOptions {
  role: LapdRole;
  clock: Clock;
  log: Logger;
  /** Writes one frame (address + control + information, no FCS) toward the peer. */
  sendFrame: (frame: Buffer) => void;
  timers?: Partial<LapdTimers>;
  tei?: number;
}


export class LapdLink extends TypedEmitter<LapdLinkEvents> {
  private st: LapdState = 'tei-assigned';
  private readonly timers: LapdTimers;
  private readonly tei: number;
  private readonly log: Logger;
  private rc = 0;
  private peerBusy = false;
  private rejectException = false;
  private ackPending = false;
  private readonly w: LapdWindow;
  private t200: TimerHandle | undefined;
  private t203: TimerHandle | undefined;
  private readonly handlers: Record<LapdHandler, (frame: LapdFrame | undefined) => void> = {
    onSabme: (f) => this.onSabme(f),
    onUa: (f) => this.onUa(f),
    onDm: (f) => this.onDm(f),
    onDisc: (f) => this.onDisc(f),
    onFrmr: () => this.reestablish(),
    onI: (f) => this.onI(f),
    onS: (f) => this.onS(f),
    onUi: (f) => this.onUi(f),
    onT200: () => this.onT200(),
    onT203: () => this.onT203(),
    replyDm: (f) => this.replyDm(f),
    replyUa: (f) => this.replyUa(f),
  };
  readonly counters: LapdCounters = { framesIn: 0, framesOut: 0, badFrames: 0, otherAddress: 0, unexpected: 0, retransmissions: 0, rejectsSent: 0 };

  constructor(private readonly opts: LapdLinkOptions) {
    super();
    this.timers = { ...DEFAULT_LAPD_TIMERS, ...opts.timers };
    this.tei = opts.tei ?? 0;
    this.w = new LapdWindow(this.timers.k);
    this.log = opts.log.child('lapd');
  }

  get state(): LapdState {
    return this.st;
  }

  get isEstablished(): boolean {
    return this.st === 'multiple-frame-established' || this.st === 'timer-recovery';
  }

  /** DL-ESTABLISH request (Q.921 §5.5.1.1). Re-establishes when already established (§5.5.3). */
  establish(): void {
    if (this.st === 'awaiting-establishment') return;
    if (this.st === 'awaiting-release') throw new TonewallError('ELAPD_STATE', `LAPD establish requested in state ${this.st}; expected tei-assigned or established`);
    this.startEstablishment();
  }

  /** DL-RELEASE request (Q.921 §5.5.2). */
  release(): void {
    if (this.st === 'tei-assigned' || this.st === 'awaiting-release') return;
    if (this.st === 'awaiting-establishment') {
      this.enter('tei-assigned');
      this.emit('released', 'released before establishment');
      return;
    }
    this.discardQueues();
    this.rc = 0;
    this.sendU('DISC', true, true);
    this.enter('awaiting-release');
    this.startT200();
  }

  /** DL-DATA request: queued, sent in sequence when multiple-frame operation allows (window k). */
  send(info: Buffer): void {
    this.w.enqueue(info);
    this.pump();
  }

  /** DL-UNIT DATA request: one UI command frame. */
  sendUnitdata(info: Buffer): void {
    this.transmit({ format: 'U', kind: 'UI', pf: false }, true, info);
  }

  /** Stops all timers and returns to TEI-assigned silently (the D channel itself went away). */
  stop(): void {
    const was = this.isEstablished;
    this.discardQueues();
    this.enter('tei-assigned');
    if (was) this.emit('released', 'stopped');
  }

  /** One received frame (no FCS). Malformed frames and frames for another TEI are counted and dropped. */
  receive(bytes: Uint8Array): void {
    let frame: LapdFrame;
    try {
      frame = decodeLapdFrame(bytes);
    } catch (err) {
      this.counters.badFrames++;
      this.log.warn('LAPD frame dropped', { err, hex: () => Buffer.from(bytes).toString('hex') });
      return;
    }
    this.counters.framesIn++;
    if (frame.sapi !== 0 || (frame.tei !== this.tei && frame.tei !== 127)) {
      this.counters.otherAddress++;
      return;
    }
    this.log.trace('rx', { frame: () => describeLapdFrame(frame) });
    const c = frame.control;
    if (c.format !== 'U') this.dispatch(c.format, frame);
    else if (c.kind !== 'XID') this.dispatch(c.kind, frame); // XID: no parameter negotiation on a PRI (docs/isdn.md)
  }

  private dispatch(input: LapdInput, frame: LapdFrame | undefined): void {
    const handler = LAPD_TABLE[this.st][input];
    if (!handler) {
      this.counters.unexpected++;
      this.log.debug('LAPD input ignored in this state', { state: this.st, input });
      return;
    }
    this.log.trace('transition', { state: this.st, input, handler });
    this.handlers[handler](frame);
  }

  /** Q.921 Table 1: the peer's commands carry C/R = 1 when the peer is the network. */
  private isCommand(frame: LapdFrame): boolean {
    return frame.cr === (this.opts.role === 'user' ? 1 : 0);
  }

  private pf(frame: LapdFrame | undefined): boolean {
    if (!frame) return false;
    const c = frame.control;
    return c.format === 'I' ? c.p : c.pf;
  }

  // ---- handlers named in TABLE ----

  private onSabme(frame: LapdFrame | undefined): void {
    this.sendU('UA', false, this.pf(frame));
    const wasEstablished = this.isEstablished;
    this.discardQueues();
    this.resetVariables();
    this.enter('multiple-frame-established');
    if (wasEstablished) this.emit('mdl-error', 'F', 'peer re-established the link (SABME in multiple-frame operation)');
    this.emit('established');
  }

  private replyUa(frame: LapdFrame | undefined): void {
    this.sendU('UA', false, this.pf(frame));
  }

  private replyDm(frame: LapdFrame | undefined): void {
    this.sendU('DM', false, this.pf(frame));
  }

  private onUa(frame: LapdFrame | undefined): void {
    if (!this.pf(frame)) {
      this.emit('mdl-error', 'D', 'UA with F=0 received');
      return;
    }
    if (this.st === 'awaiting-establishment') {
      this.resetVariables();
      this.enter('multiple-frame-established');
      this.emit('established');
      this.pump();
    } else {
      this.enter('tei-assigned');
      this.emit('released', 'released (UA)');
    }
  }

  private onDm(frame: LapdFrame | undefined): void {
    const f = this.pf(frame);
    if (this.st === 'awaiting-establishment' || this.st === 'awaiting-release') {
      if (!f) return;
      const wasRelease = this.st === 'awaiting-release';
      this.enter('tei-assigned');
      this.emit('released', wasRelease ? 'released (DM)' : 'peer refused establishment (DM)');
      return;
    }
    if (f) {
      this.emit('mdl-error', 'B', 'DM with F=1 in multiple-frame operation');
      return;
    }
    this.emit('mdl-error', 'E', 'DM with F=0 in multiple-frame operation');
    this.startEstablishment();
  }

  private onDisc(frame: LapdFrame | undefined): void {
    this.sendU('UA', false, this.pf(frame));
    this.discardQueues();
    this.enter('tei-assigned');
    this.emit('released', 'released by peer (DISC)');
  }

  private reestablish(): void {
    this.emit('mdl-error', 'K', 'FRMR received');
    this.startEstablishment();
  }

  private onUi(frame: LapdFrame | undefined): void {
    if (frame) this.emit('unitdata', frame.info);
  }

  private onI(frame: LapdFrame | undefined): void {
    if (!frame || frame.control.format !== 'I') return;
    if (!this.isCommand(frame)) {
      this.emit('mdl-error', 'L', 'I frame received as a response');
      return;
    }
    const { ns, nr, p } = frame.control;
    if (!this.w.nrValid(nr)) return this.nrError(nr);
    if (this.w.receivedInSequence(ns)) {
      this.rejectException = false;
      this.ackPending = true;
      if (p) this.sendS('RR', false, true);
      this.emit('data', frame.info);
    } else if (!this.rejectException) {
      this.rejectException = true;
      this.counters.rejectsSent++;
      this.sendS('REJ', false, p);
    } else if (p) {
      this.sendS('RR', false, true);
    }
    this.acknowledge(nr);
    if (this.ackPending) this.sendS('RR', false, false);
  }

  private onS(frame: LapdFrame | undefined): void {
    if (!frame || frame.control.format !== 'S') return;
    const { kind, nr, pf } = frame.control;
    const command = this.isCommand(frame);
    this.peerBusy = kind === 'RNR';
    if (command && pf) this.sendS('RR', false, true);
    if (!this.w.nrValid(nr)) return this.nrError(nr);
    if (this.st === 'timer-recovery') {
      if (!command && pf) {
        this.w.acknowledge(nr);
        this.stopT200();
        this.startT203();
        this.enter('multiple-frame-established');
        this.retransmitFrom();
      } else {
        this.w.acknowledge(nr);
      }
      return;
    }
    if (kind === 'REJ') {
      this.w.acknowledge(nr);
      this.stopT200();
      this.startT203();
      this.retransmitFrom();
      return;
    }
    if (kind === 'RNR') {
      this.w.acknowledge(nr);
      this.stopT203();
      if (!this.t200) this.startT200();
      return;
    }
    this.acknowledge(nr);
    this.pump();
  }

  private onT200(): void {
    this.t200 = undefined;
    if (this.st === 'awaiting-establishment' || this.st === 'awaiting-release') {
      const establishing = this.st === 'awaiting-establishment';
      if (this.rc >= this.timers.n200) {
        this.enter('tei-assigned');
        this.emit('mdl-error', establishing ? 'G' : 'H', `no answer to ${establishing ? 'SABME' : 'DISC'} after N200 = ${this.timers.n200} retransmissions`);
        this.emit('released', establishing ? 'establishment failed (T200 × N200)' : 'release timed out');
        return;
      }
      this.rc++;
      this.counters.retransmissions++;
      this.sendU(establishing ? 'SABME' : 'DISC', true, true);
      this.startT200();
      return;
    }
    if (this.st === 'timer-recovery' && this.rc >= this.timers.n200) {
      this.emit('mdl-error', 'I', `no answer to an enquiry after N200 = ${this.timers.n200} retransmissions`);
      this.startEstablishment();
      return;
    }
    if (this.st === 'multiple-frame-established') this.rc = 0;
    this.enquireOrRetransmit();
    this.rc++;
    this.startT200();
    this.enter('timer-recovery');
  }

  private onT203(): void {
    this.t203 = undefined;
    this.rc = 0;
    this.sendS('RR', true, true);
    this.rc++;
    this.startT200();
    this.enter('timer-recovery');
  }

  // ---- procedures ----

  /** Q.921 §5.6.1 on T200 expiry: retransmit the last I frame with P=1, else send an RR enquiry. */
  private enquireOrRetransmit(): void {
    const last = this.w.lastUnacked();
    if (last && !this.peerBusy) {
      this.counters.retransmissions++;
      this.transmit({ format: 'I', ns: last.ns, nr: this.w.vr, p: true }, true, last.info);
      this.ackPending = false;
    } else {
      this.sendS('RR', true, true);
    }
  }

  private startEstablishment(): void {
    this.discardQueues();
    this.rc = 0;
    this.sendU('SABME', true, true);
    this.enter('awaiting-establishment');
    this.startT200();
  }

  private nrError(nr: number): void {
    this.emit('mdl-error', 'J', `N(R) ${nr} outside V(A) ${this.w.va} .. V(S) ${this.w.vs}`);
    this.startEstablishment();
  }

  /** Acknowledgement processing in multiple-frame operation (Q.921 §5.6.3). */
  private acknowledge(nr: number): void {
    if (this.st === 'timer-recovery') {
      this.w.acknowledge(nr);
      return;
    }
    if (this.peerBusy) {
      this.w.acknowledge(nr);
    } else if (nr === this.w.vs) {
      this.w.acknowledge(nr);
      this.stopT200();
      this.startT203();
    } else if (nr !== this.w.va) {
      this.w.acknowledge(nr);
      this.startT200();
    }
  }

  /** Q.921 §5.6.4: after REJ or a recovery, resend every unacknowledged frame from V(A). */
  private retransmitFrom(): void {
    this.counters.retransmissions += this.w.rewind();
    this.pump();
  }

  private pump(): void {
    while (this.st === 'multiple-frame-established' && !this.peerBusy) {
      const next = this.w.next();
      if (!next) break;
      this.transmit({ format: 'I', ns: next.ns, nr: this.w.vr, p: false }, true, next.info);
      this.ackPending = false;
      if (!this.t200) {
        this.stopT203();
        this.startT200();
      }
    }
  }

  private resetVariables(): void {
    this.w.reset();
    this.rc = 0;
    this.peerBusy = false;
    this.rejectException = false;
    this.ackPending = false;
  }

  private discardQueues(): void {
    this.w.discard();
  }

  private enter(state: LapdState): void {
    if (state !== this.st) this.log.debug('LAPD state', { from: this.st, to: state });
    this.st = state;
    if (state === 'tei-assigned' || state === 'awaiting-release' || state === 'awaiting-establishment') this.stopT203();
    if (state === 'tei-assigned') this.stopT200();
    if (state === 'multiple-frame-established' && !this.t200) this.startT203();
  }

  private startT200(): void {
    this.stopT200();
    this.t200 = this.opts.clock.setTimeout(() => this.dispatch('T200', undefined), this.timers.t200Ms);
  }
  private stopT200(): void {
    this.t200?.cancel();
    this.t200 = undefined;
  }
  private startT203(): void {
    this.stopT203();
    this.t203 = this.opts.clock.setTimeout(() => this.dispatch('T203', undefined), this.timers.t203Ms);
  }
  private stopT203(): void {
    this.t203?.cancel();
    this.t203 = undefined;
  }

  private sendU(kind: 'SABME' | 'UA' | 'DM' | 'DISC', command: boolean, pf: boolean): void {
    this.transmit({ format: 'U', kind, pf }, command, Buffer.alloc(0));
  }

  private sendS(kind: SFrameKind, command: boolean, pf: boolean): void {
    if (!command) this.ackPending = false;
    this.transmit({ format: 'S', kind, nr: this.w.vr, pf }, command, Buffer.alloc(0));
  }

  /** Q.921 Table 1: C/R = 1 for network commands and user responses. */
  private transmit(control: LapdControl, command: boolean, info: Buffer): void {
    const cr: 0 | 1 = command === (this.opts.role === 'network') ? 1 : 0;
    const frame: LapdFrame = { sapi: 0, cr, tei: this.tei, control, info };
    this.counters.framesOut++;
    this.log.trace('tx', { frame: () => describeLapdFrame(frame) });
    this.opts.sendFrame(encodeLapdFrame(frame));
  }
}
