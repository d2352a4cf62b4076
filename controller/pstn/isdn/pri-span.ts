/**
 * One ISDN PRI span's signaling: the D channel's LAPD link (Q.921), Q.931 call references, B-channel
 * selection and maintenance, RESTART (Q.931 §5.5) and data link failure handling (§5.8.8-5.8.9).
 * Either side: `user` is what the appliance runs, `network` is what the simulated card runs.
 *
 * Frames in: `receiveFrame(frame)` (one D-channel frame without FCS, as the card link's dchan message
 * carries it). Frames out: `sendFrame`. Calls out: `incoming` events carrying PstnCall-shaped PriCalls;
 * outgoing calls with `placeCall()`. No I/O of its own; time through the injected Clock.
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { PstnTrunkEvents } from '../types';
import { BChannels, type BChannelState } from './b-channels';
import { LapdLink, type LapdCounters, type LapdTimers } from './lapd-link';
import { CAUSE, Q931Call, type Q931Side } from './q931-call';
import { decodeQ931, describeQ931, encodeQ931, findIe, type Q931Message, type Q931MessageType } from './q931-message';
import { causeIe, readSetup, VOICE_CAPABILITIES, type SetupParams } from './q931-setup';
import { PriCall } from './pri-call';
import type { SwitchVariant } from './switch-variant';
import type { Q931Ie } from './q931-ie';

export interface PriSpanOptions {
  span: number;
  side: Q931Side;
  variant: SwitchVariant;
  clock: Clock;
  log: Logger;
  /** Writes one D-channel frame (no FCS) toward the card (or, on the network side, toward the host). */
  sendFrame: (frame: Buffer) => void;
  lapdTimers?: Partial<LapdTimers>;
  /** Wait before trying to bring the data link up again after it failed or was released (ms). */
  establishRetryMs?: number;
  /** Incoming calls: send ALERTING right after CALL PROCEEDING (default true). */
  alertOnOffer?: boolean;
  /** The card's TDM channel carrying a B channel's audio (PstnCallInfo.channel); identity by default. */
  toTdmChannel?: (bChannel: number) => number;
}

export interface PriSpanEvents extends PstnTrunkEvents {
  dchannel: [up: boolean];
  /** A RESTART was received and acknowledged for these channels. */
  restarted: [channels: number[] | 'all'];
  /** Our RESTART was acknowledged. */
  'restart-acknowledged': [channels: number[] | 'all'];
}

export interface PriSpanCounters extends LapdCounters {
  badMessages: number;
  unknownCallRef: number;
  rejectedSetups: number;
}

interface CallEntry {
  q931: Q931Call;
  pri: PriCall;
  /**
   * The B channel held (Q.931 channel number), which may differ from the TDM channel in pri.info;
   * undefined while an outgoing call gave its preferred channel up to the network's call (glare).
   */
  bChannel: number | undefined;
  /** Outgoing: whether our SETUP asked for the channel exclusively. */
  exclusive: boolean;
}

export type OutgoingCallParams = Omit<SetupParams, 'exclusive' | 'channel'> & { channel?: number; exclusive?: boolean };

const RESTART_TRIES = 3;

export class PriSpan extends TypedEmitter<PriSpanEvents> {
  readonly lapd: LapdLink;
  private readonly channels: BChannels;
  private readonly calls = new Map<string, CallEntry>();
  private readonly log: Logger;
  private nextCallRef = 1;
  private retry: TimerHandle | undefined;
  private restartTimer: { handle: TimerHandle; tries: number; channels: number[] | 'all' } | undefined;
  private running = false;
  /** What the last `dchannel` event said, so that failed retries do not repeat it. */
  private reportedUp = false;
  private layer1Up = true;
  private readonly q931Counters = { badMessages: 0, unknownCallRef: 0, rejectedSetups: 0 };

  constructor(private readonly opts: PriSpanOptions) {
    super();
    this.log = opts.log.child(`pri${opts.span}`);
    this.channels = new BChannels(opts.variant.bChannels);
    this.lapd = new LapdLink({ role: opts.side, clock: opts.clock, log: this.log, sendFrame: opts.sendFrame, timers: opts.lapdTimers ?? {} });
    this.lapd.on('established', () => this.onLinkUp());
    this.lapd.on('released', (reason) => this.onLinkDown(reason));
    this.lapd.on('data', (info) => this.onData(info));
    this.lapd.on('mdl-error', (code, message) => this.log.warn('LAPD error', { code, message }));
  }

  get dchannelUp(): boolean {
    return this.lapd.isEstablished;
  }

  get spanNumber(): number {
    return this.opts.span;
  }

  get counters(): PriSpanCounters {
    return { ...this.lapd.counters, ...this.q931Counters };
  }

  /** Starts bringing the D channel up (SABME); keeps retrying while started. */
  start(): void {
    this.running = true;
    if (!this.lapd.isEstablished && this.layer1Up) this.lapd.establish();
  }

  stop(): void {
    this.running = false;
    this.retry?.cancel();
    this.retry = undefined;
    this.restartTimer?.handle.cancel();
    this.restartTimer = undefined;
    for (const { q931 } of [...this.calls.values()]) q931.clearInternally(CAUSE.tempFailure, 'local', false);
    this.lapd.stop();
  }

  receiveFrame(frame: Uint8Array): void {
    this.lapd.receive(frame);
  }

  /**
   * Layer 1 state from the card's span alarms (LOS/LOF/AIS): with no layer 1 there is no D channel, so
   * the data link is released at once (Q.921 §5.7 on PH-DEACTIVATE) instead of after T203 + N200 × T200,
   * and establishment waits for layer 1 to return.
   */
  setLayer1(up: boolean): void {
    if (up === this.layer1Up) return;
    this.layer1Up = up;
    if (!up) {
      this.retry?.cancel();
      this.retry = undefined;
      this.lapd.stop();
      this.onLinkDown('layer 1 down');
    } else if (this.running && this.lapd.state === 'tei-assigned') {
      this.lapd.establish();
    }
  }

  channelStates(): { channel: number; state: BChannelState }[] {
    return this.channels.list();
  }

  /** Places a call: SETUP on a channel we choose (network: exclusive; user: preferred unless told). */
  placeCall(params: OutgoingCallParams): PriCall {
    if (!this.lapd.isEstablished) throw new TonewallError('EPRI_DOWN', `span ${this.opts.span}: D channel is down; cannot place a call`);
    const exclusive = params.exclusive ?? this.opts.side === 'network';
    const channel = this.channels.select(params.channel, exclusive);
    if (channel === undefined) throw new TonewallError('EPRI_NO_CHANNEL', `span ${this.opts.span}: no idle B channel${params.channel ? ` (asked for ${params.channel})` : ''}`);
    const callRef = this.allocateCallRef();
    const entry = this.createCall(callRef, true, channel, { called: params.called, calling: params.calling, callingName: params.callingName ?? '' });
    entry.exclusive = exclusive;
    entry.q931.setup({ ...params, channel, exclusive });
    return entry.pri;
  }

  /** Sends RESTART (global call reference) for some channels or the whole interface; T316 guards it. */
  restart(channels: number[] | 'all' = 'all'): void {
    this.clearCallsOn(channels, 'local');
    this.sendRestart(channels, 1);
  }

  private clearCallsOn(channels: number[] | 'all', by: 'peer' | 'local'): void {
    for (const { q931, bChannel } of [...this.calls.values()]) {
      if (channels === 'all' || (bChannel !== undefined && channels.includes(bChannel))) q931.clearInternally(CAUSE.tempFailure, by, false);
    }
  }

  private sendRestart(channels: number[] | 'all', tries: number): void {
    this.restartTimer?.handle.cancel();
    this.sendGlobal('RESTART', restartIes(channels));
    const handle = this.opts.clock.setTimeout(() => {
      if (tries >= RESTART_TRIES) {
        this.restartTimer = undefined;
        this.emit('warning', `span ${this.opts.span}: RESTART not acknowledged after ${tries} tries (T316)`);
        return;
      }
      this.sendRestart(channels, tries + 1);
    }, this.opts.variant.timers.t316Ms);
    this.restartTimer = { handle, tries, channels };
  }

  // ---- data link events ----

  private onLinkUp(): void {
    this.retry?.cancel();
    this.retry = undefined;
    this.log.info('D channel up', { span: this.opts.span });
    this.reportedUp = true;
    this.emit('dchannel', true);
    for (const { q931 } of this.calls.values()) q931.linkUp();
    const suspect = this.channels.inMaintenance();
    if (this.opts.side === 'user' && this.opts.variant.restartOnLinkUp) this.restart('all');
    else if (suspect.length > 0) this.restart(suspect);
  }

  private onLinkDown(reason: string): void {
    if (this.reportedUp) {
      this.log.warn('D channel down', { span: this.opts.span, reason });
      this.reportedUp = false;
      this.emit('dchannel', false);
      for (const { q931 } of [...this.calls.values()]) q931.linkDown();
    }
    if (!this.running || this.retry || !this.layer1Up) return;
    const ms = this.opts.establishRetryMs ?? 1000;
    this.retry = this.opts.clock.setTimeout(() => {
      this.retry = undefined;
      if (this.running && this.lapd.state === 'tei-assigned') this.lapd.establish();
    }, ms);
  }

  private onData(info: Buffer): void {
    let msg: Q931Message;
    try {
      msg = decodeQ931(info);
    } catch (err) {
      this.q931Counters.badMessages++;
      this.log.warn('Q.931 message dropped', { err, hex: () => info.toString('hex') });
      return;
    }
    this.log.debug('rx', { msg: () => describeQ931(msg) });
    if (msg.callRef.length === 0) return;
    if (msg.callRef.value === 0) return this.onGlobal(msg);
    const key = callKey(msg.callRef.flag, msg.callRef.value);
    const entry = this.calls.get(key);
    if (entry) return entry.q931.receive(msg);
    this.onUnknownCallRef(msg);
  }

  // ---- messages outside a call ----

  private onGlobal(msg: Q931Message): void {
    if (msg.type === 'RESTART') {
      const channels = restartChannels(msg);
      this.clearCallsOn(channels, 'peer');
      this.channels.restarted(channels);
      this.sendGlobal('RESTART ACKNOWLEDGE', msg.ies.filter((ie) => ie.id === 'channel-id' || ie.id === 'restart-indicator'), true);
      this.emit('restarted', channels);
    } else if (msg.type === 'RESTART ACKNOWLEDGE') {
      // Only the acknowledgement of our own pending RESTART frees channels; a stray one is ignored.
      if (!this.restartTimer) {
        this.q931Counters.unknownCallRef++;
        this.log.info('RESTART ACKNOWLEDGE without a RESTART pending; ignored', { span: this.opts.span });
        return;
      }
      const channels = this.restartTimer.channels;
      this.restartTimer.handle.cancel();
      this.restartTimer = undefined;
      this.channels.restarted(channels);
      this.emit('restart-acknowledged', channels);
    } else if (msg.type === 'STATUS ENQUIRY') {
      this.sendGlobal('STATUS', [causeIe(CAUSE.statusResponse, this.location()), { id: 'call-state', value: 0 }], true);
    }
  }

  /** Q.931 §5.8.3.2: messages for a call reference not in use. */
  private onUnknownCallRef(msg: Q931Message): void {
    const reply = (type: Q931MessageType, ies: Q931Ie[]): void => this.sendOnRef(msg, type, ies);
    if (msg.type === 'SETUP' && !msg.callRef.flag) return this.onSetup(msg);
    this.q931Counters.unknownCallRef++;
    switch (msg.type) {
      case 'RELEASE COMPLETE':
        return;
      case 'STATUS ENQUIRY':
        return reply('STATUS', [causeIe(CAUSE.statusResponse, this.location()), { id: 'call-state', value: 0 }]);
      case 'STATUS':
        if (findIe(msg, 'call-state')?.value === 0) return;
        return reply('RELEASE COMPLETE', [causeIe(81, this.location())]);
      default:
        return reply('RELEASE COMPLETE', [causeIe(81, this.location())]);
    }
  }

  private onSetup(msg: Q931Message): void {
    const reject = (cause: number, why: string): void => {
      this.q931Counters.rejectedSetups++;
      this.log.info('SETUP rejected', { span: this.opts.span, cause, why });
      this.sendOnRef(msg, 'RELEASE COMPLETE', [causeIe(cause, this.location())]);
    };
    let setup;
    try {
      setup = readSetup(msg);
    } catch (err) {
      return reject(CAUSE.mandatoryMissing, err instanceof Error ? err.message : 'bad SETUP');
    }
    if (!VOICE_CAPABILITIES.includes(setup.capability)) return reject(65, `bearer capability ${setup.capability} is not speech or 3.1 kHz audio`);
    if (setup.exclusive && setup.channel !== undefined) this.yieldChannel(setup.channel);
    const channel = this.channels.select(setup.channel, setup.exclusive);
    if (channel === undefined) return reject(setup.exclusive && setup.channel !== undefined ? 44 : CAUSE.noCircuit, `channel ${setup.channel ?? 'any'} not available`);
    const entry = this.createCall(msg.callRef.value, false, channel, setup);
    entry.q931.receivedSetup(channel);
    entry.q931.proceeding();
    // The network side (the simulated exchange) plays ringback in band: progress indicator #8 (Q.931 §5.1.7).
    if (this.opts.alertOnOffer ?? true) entry.q931.alerting(this.opts.side === 'network');
    this.emit('incoming', entry.pri);
  }

  /**
   * Glare on a PRI (Q.931 §5.1.2, ETSI EN 300 403 §5.2.3.1): the network's exclusive SETUP names a channel
   * our own SETUP asked for as preferred and nobody has answered yet. The network's call wins; ours waits
   * for the channel the network gives it in CALL PROCEEDING/ALERTING/CONNECT.
   */
  private yieldChannel(channel: number): void {
    if (this.opts.side !== 'user' || this.channels.state(channel) !== 'busy') return;
    for (const entry of this.calls.values()) {
      if (entry.bChannel === channel && !entry.exclusive && entry.q931.state === 'out-initiated') {
        this.log.info('glare: our preferred channel goes to the network\'s call', { channel, callRef: entry.q931.callRef });
        entry.bChannel = undefined;
        this.channels.free(channel, false);
        return;
      }
    }
  }

  private createCall(callRef: number, originator: boolean, channel: number, numbers: { called: string; calling: string; callingName: string }): CallEntry {
    const q931 = new Q931Call({
      side: this.opts.side,
      variant: this.opts.variant,
      callRef,
      originator,
      clock: this.opts.clock,
      log: this.log,
      send: (m) => this.sendMessage(m),
    });
    this.channels.seize(channel);
    const tdm = this.opts.toTdmChannel ?? ((b: number): number => b);
    const info = { trunk: `span/${this.opts.span}`, port: this.opts.span, channel: tdm(channel), callerNumber: numbers.calling, callerName: numbers.callingName, calledNumber: numbers.called };
    const pri = new PriCall(info, q931);
    const key = callKey(originator, callRef);
    const entry: CallEntry = { q931, pri, bChannel: channel, exclusive: false };
    this.calls.set(key, entry);
    q931.on('channel', (next) => {
      if (next === entry.bChannel) return;
      if (this.channels.state(next) !== 'idle') {
        this.log.warn('peer moved the call to a channel that is not idle', { channel: next });
        q931.disconnect(CAUSE.channelUnacceptable);
        return;
      }
      if (entry.bChannel !== undefined) this.channels.free(entry.bChannel, false);
      this.channels.seize(next);
      entry.bChannel = next;
      pri.info.channel = tdm(next);
    });
    // A call that yielded its channel (glare) must get one in the first answer (ETSI EN 300 403 §5.1.2).
    const needChannel = (): void => {
      if (entry.bChannel !== undefined) return;
      this.log.warn('answer to our SETUP assigns no channel after glare; clearing', { callRef });
      q931.disconnect(CAUSE.mandatoryMissing);
    };
    q931.on('proceeding', needChannel);
    q931.on('alerting', needChannel);
    q931.on('connected', needChannel);
    q931.on('released', (_cause, _by, suspect) => {
      this.calls.delete(key);
      if (entry.bChannel === undefined) return;
      this.channels.free(entry.bChannel, suspect);
      if (suspect && this.lapd.isEstablished) this.restart([entry.bChannel]);
    });
    return entry;
  }

  private allocateCallRef(): number {
    for (let i = 0; i < 0x7fff; i++) {
      const ref = this.nextCallRef;
      this.nextCallRef = (this.nextCallRef % 0x7fff) + 1;
      if (!this.calls.has(callKey(true, ref))) return ref;
    }
    throw new TonewallError('EPRI_CALLREF', `span ${this.opts.span}: all 32767 call references are in use`);
  }

  private sendOnRef(to: Q931Message, type: Q931MessageType, ies: Q931Ie[]): void {
    this.sendMessage({ callRef: { length: to.callRef.length, flag: !to.callRef.flag, value: to.callRef.value }, type, ies });
  }

  private sendGlobal(type: Q931MessageType, ies: Q931Ie[], reply = false): void {
    this.sendMessage({ callRef: { length: 2, flag: reply, value: 0 }, type, ies });
  }

  private sendMessage(msg: Q931Message): void {
    this.log.debug('tx', { msg: () => describeQ931(msg) });
    this.lapd.send(encodeQ931(msg));
  }

  private location(): number {
    return this.opts.side === 'user' ? 0 : 2;
  }
}

/** Key of a call in the map: who allocated the reference, and its value. */
function callKey(originator: boolean, value: number): string {
  return `${originator ? 'o' : 'i'}${value}`;
}

function restartChannels(msg: Q931Message): number[] | 'all' {
  const ri = findIe(msg, 'restart-indicator');
  const ci = findIe(msg, 'channel-id');
  if (ri?.restartClass === 0 && ci?.selection === 'indicated') return ci.channels;
  return 'all';
}

function restartIes(channels: number[] | 'all'): Q931Ie[] {
  if (channels === 'all') return [{ id: 'restart-indicator', restartClass: 7 }];
  return [
    { id: 'channel-id', exclusive: true, selection: 'indicated', channels, dChannel: false },
    { id: 'restart-indicator', restartClass: 0 },
  ];
}
