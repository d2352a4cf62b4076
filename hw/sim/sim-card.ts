/**
 * The simulated telephony card: the CARD side of the card link (hw/link codec, docs/card-link.md)
 * over any byte stream (a socket from the socket server, which is also what socat's pty bridge
 * connects to), with a 4-port analog FXO card and the PSTN behind it (sim-ports.ts, pstn-call.ts).
 *
 * Link session (one host stream at a time; a new stream replaces the old one):
 *
 *   detached ──attach──▶ attached ──host-hello (version ok)──▶ ready ──keepalive miss limit──▶ lost
 *      ▲                    │ card-hello sent on attach            ▲                        │
 *      └──── stream closed / dropLink() ◀──────────────────────────┴── any frame from host ─┘
 *
 * - On attach the card sends its hello unsolicited; it answers every host-hello with a fresh
 *   card-hello (sequence numbers restart at 0 with a hello, both ways).
 * - Keepalive both ways: the card sends one when it has sent nothing for `keepaliveMs`; with no frame
 *   from the host for `keepaliveMissLimit` intervals it declares the host lost (stops PCM and line
 *   events) and keeps listening; any frame from the host brings it back.
 * - Line events and PCM go to the host only while ready; the PSTN goes on regardless (callers ring
 *   and give up whether or not anyone is listening).
 * - PCM: every TDM tick (10 ms, the injected TDM clock) one pcm message with an 80-byte chunk per
 *   channel that has audio, `tdmSample` = the card's 8 kHz sample count.
 *
 * This file and the rest of hw/sim import pure DSP helpers from controller/ (tone generation,
 * G.711): an exception to "layers point down", because the simulator is a test peer playing the
 * network, not a layer of the appliance.
 */
import type { Duplex } from 'node:stream';
import { systemClock, type Clock, type TimerHandle } from '../base/clock';
import { TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import { TypedEmitter } from '../base/typed-emitter';
import type { CardInfo, CompandingLaw, HookCommand, LineEvent } from '../card/types';
import { FrameDecoder, FrameEncoder, PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN, type CommandStatus, type DecoderStats, type LinkMessage, type LinkMessageOf, type MessageType } from '../link';
import { parseCallScript, type CallScriptInput } from './call-script';
import type { CalleeScript, DisconnectSupervision, PstnCall, PstnCallState } from './pstn-call';
import { SimPorts } from './sim-ports';
import { DriftCorrectedTdmClock, type TdmClock } from './tdm-clock';
import { readWavFile } from './wav-file';

export type SimLinkState = 'detached' | 'attached' | 'ready' | 'lost';

const TRANSITIONS: Record<SimLinkState, readonly SimLinkState[]> = {
  detached: ['attached'],
  attached: ['ready', 'detached', 'attached'],
  ready: ['lost', 'detached', 'attached', 'ready'],
  lost: ['ready', 'detached', 'attached'],
};

export interface SimCardOptions {
  log: Logger;
  clock?: Clock;
  /** The TDM clock pacing PCM (default: drift-corrected 10 ms ticks on `clock`). */
  tdmClock?: TdmClock;
  model?: string;
  firmwareVersion?: string;
  serial?: string;
  portCount?: number;
  law?: CompandingLaw;
  keepaliveMs?: number;
  keepaliveMissLimit?: number;
  /** Disconnect supervision for all ports, or per port (default loop-current-drop). */
  supervision?: DisconnectSupervision | Record<number, DisconnectSupervision>;
  /** The far end of outward calls. */
  callee?: CalleeScript;
  seed?: number;
  loadWav?: (path: string) => Int16Array;
  /** Ended calls kept for inspection (oldest dropped first). */
  historyLimit?: number;
}

export interface SimCardEvents {
  /** A host byte stream was attached (the card has sent its hello). */
  'host-connected': [];
  /** The host said hello; `compatible` is false when no protocol version is shared. */
  'host-hello': [softwareVersion: string, compatible: boolean];
  'host-disconnected': [reason: string];
  /** No frame from the host for the keepalive miss limit. */
  'host-lost': [];
  'call-started': [call: PstnCall];
  'call-answered': [call: PstnCall];
  /** The far end hung up; the port may still be off-hook. */
  'caller-hung-up': [call: PstnCall];
  'call-ended': [call: PstnCall];
  'line-event': [event: LineEvent];
  /** A hook command was executed (digits of a dial are not passed on). */
  command: [kind: HookCommand['kind'], port: number, status: CommandStatus];
}

type Handlers = { [T in MessageType]: (msg: LinkMessageOf<T>) => void };

export class SimCard extends TypedEmitter<SimCardEvents> {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly tdm: TdmClock;
  private readonly ports: SimPorts;
  private readonly keepaliveMs: number;
  private readonly missLimit: number;
  private stream: Duplex | undefined;
  private encoder = new FrameEncoder();
  private decoder = new FrameDecoder();
  private stateValue: SimLinkState = 'detached';
  private keepaliveTimer: TimerHandle | undefined;
  private readonly pendingResults = new Set<TimerHandle>();
  private lastRxMs = 0;
  private lastTxMs = 0;
  private tdmSample = 0;
  private running = false;
  private keepalivesEnabled = true;
  private linkPaused = false;
  /** Every call since start (bounded by historyLimit), oldest first. */
  readonly calls: PstnCall[] = [];
  readonly counters = { unexpectedMessages: 0, framesOut: 0, hostsLost: 0 };

  /** Host PCM chunks for a channel without a connected call (dropped). */
  get hostPcmDropped(): number {
    return this.ports.hostPcmDropped;
  }

  constructor(private readonly opts: SimCardOptions) {
    super();
    this.log = opts.log.child('sim');
    this.clock = opts.clock ?? systemClock;
    this.tdm = opts.tdmClock ?? new DriftCorrectedTdmClock(this.clock);
    this.keepaliveMs = opts.keepaliveMs ?? 1000;
    this.missLimit = opts.keepaliveMissLimit ?? 3;
    const sup = opts.supervision;
    this.ports = new SimPorts({
      portCount: opts.portCount ?? 4,
      law: opts.law ?? 'ulaw',
      supervision: (port) => (typeof sup === 'string' ? sup : (sup?.[port] ?? 'loop-current-drop')),
      callee: opts.callee,
      seed: opts.seed ?? 1,
      loadWav: opts.loadWav ?? readWavFile,
      onCallState: (call, state) => this.onCallState(call, state),
    });
  }

  get state(): SimLinkState {
    return this.stateValue;
  }

  get info(): CardInfo {
    return {
      model: this.opts.model ?? 'TW-FXO4-SIM',
      firmwareVersion: this.opts.firmwareVersion ?? '1.0.0-sim',
      serial: this.opts.serial ?? 'SIM0000001',
      protocolVersion: PROTOCOL_VERSION_MAX,
      law: this.opts.law ?? 'ulaw',
      ports: this.ports.infos,
      spans: [],
    };
  }

  /** Starts the TDM clock and the keepalive timer. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tdm.start(() => this.onTick());
    this.keepaliveTimer = this.clock.setInterval(() => this.onKeepaliveTimer(), this.keepaliveMs);
  }

  /** Stops timers and detaches the host; calls in progress are reset. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.tdm.stop();
    this.keepaliveTimer?.cancel();
    this.keepaliveTimer = undefined;
    this.detach('simulator stopped');
    this.ports.reset();
  }

  /** Takes a host byte stream (socket, pty bridge); replaces any previous one. */
  attach(stream: Duplex): void {
    if (this.stream) this.detach('replaced by a new host connection');
    this.stream = stream;
    this.encoder = new FrameEncoder();
    this.decoder = new FrameDecoder({ onError: (e) => this.log.debug('bad frame from host', { kind: e.kind, reason: e.reason }) });
    this.lastRxMs = this.clock.monotonicMs();
    stream.on('data', (chunk: Buffer) => {
      if (this.stream === stream) this.onData(chunk);
    });
    stream.on('error', (err) => {
      if (this.stream === stream) this.detach(`stream error: ${err.message}`);
    });
    stream.on('close', () => {
      if (this.stream === stream) this.detach('host closed the link');
    });
    this.transition('attached');
    this.log.info('host connected');
    this.sendHello();
    this.emit('host-connected');
  }

  /** Starts a scripted inbound call now. Throws SIM_PORT_BUSY when the port is not idle. */
  placeCall(input: CallScriptInput): PstnCall {
    const script = parseCallScript(input);
    const call = this.ports.placeCall(script);
    if (!call) throw new TonewallError('SIM_PORT_BUSY', `port ${script.port} is not idle (or not in 1..${this.ports.infos.length}); a call needs an idle on-hook port`);
    const keys = script.audio.reduce((n, a) => n + ('keys' in a ? a.keys.length : 0), 0);
    this.log.info('call placed', { callId: call.id, port: script.port, keypresses: keys });
    return call;
  }

  isPortIdle(port: number): boolean {
    return this.ports.isIdle(port);
  }

  /** Decoder statistics of what the host sent (CRC errors, resync bytes, lost frames). */
  get hostLinkStats(): DecoderStats {
    return this.decoder.stats;
  }

  // ---- fault injection -------------------------------------------------------------------------

  /** Writes raw bytes on the link (garbage between frames). */
  injectGarbage(bytes: Uint8Array): void {
    this.stream?.write(Buffer.from(bytes));
  }

  /** Closes the host stream abruptly, as a cable pull would. */
  dropLink(): void {
    const s = this.stream;
    this.detach('link dropped (fault injection)');
    s?.destroy();
  }

  /** Stops (or resumes) sending keepalives; other frames still flow. */
  setKeepalivesEnabled(enabled: boolean): void {
    this.keepalivesEnabled = enabled;
  }

  /** Stops (or resumes) sending every frame: a hung card. */
  setLinkPaused(paused: boolean): void {
    this.linkPaused = paused;
  }

  /** Card reset: calls dropped, ports on-hook, a fresh hello; the host must say hello again. */
  resetCard(): void {
    this.log.warn('card reset');
    for (const t of this.pendingResults) t.cancel();
    this.pendingResults.clear();
    this.ports.reset();
    if (this.stream) {
      this.encoder = new FrameEncoder();
      this.decoder.reset();
      this.transition('attached');
      this.sendHello();
    }
  }

  // ---- link ------------------------------------------------------------------------------------

  private detach(reason: string): void {
    const s = this.stream;
    if (!s) return;
    this.stream = undefined;
    for (const t of this.pendingResults) t.cancel();
    this.pendingResults.clear();
    s.removeAllListeners('data');
    s.on('error', () => undefined);
    s.end();
    this.transition('detached');
    this.log.info('host disconnected', { reason });
    this.emit('host-disconnected', reason);
  }

  private send(msg: LinkMessage): void {
    if (!this.stream || this.linkPaused) return;
    try {
      this.stream.write(this.encoder.encode(msg));
      this.lastTxMs = this.clock.monotonicMs();
      this.counters.framesOut++;
    } catch (err) {
      this.log.error('cannot encode frame', { type: msg.type, err });
    }
  }

  private sendHello(): void {
    this.send({ type: 'card-hello', ...this.info });
  }

  private onData(chunk: Buffer): void {
    this.lastRxMs = this.clock.monotonicMs();
    for (const frame of this.decoder.push(chunk)) {
      if (this.stateValue === 'lost') {
        this.log.info('host is back');
        this.transition('ready');
      }
      const handler = this.handlers[frame.message.type] as (m: LinkMessage) => void;
      handler(frame.message);
    }
  }

  private onKeepaliveTimer(): void {
    const now = this.clock.monotonicMs();
    if (this.stateValue === 'ready' && now - this.lastRxMs > this.missLimit * this.keepaliveMs) {
      this.counters.hostsLost++;
      this.transition('lost');
      this.log.warn('host lost: keepalive miss limit reached', { missLimit: this.missLimit, keepaliveMs: this.keepaliveMs });
      this.emit('host-lost');
    }
    // Only toward a host that is present: a pty nobody has open would fill up with keepalives.
    if (this.stateValue === 'ready' && this.keepalivesEnabled && now - this.lastTxMs >= this.keepaliveMs) this.send({ type: 'keepalive' });
  }

  private readonly handlers: Handlers = {
    'host-hello': (m) => {
      const compatible = m.protocolMin <= PROTOCOL_VERSION_MAX && m.protocolMax >= PROTOCOL_VERSION_MIN;
      this.encoder = new FrameEncoder();
      this.sendHello();
      if (compatible) this.transition('ready');
      else this.log.warn('host protocol range not supported', { hostMin: m.protocolMin, hostMax: m.protocolMax, cardMin: PROTOCOL_VERSION_MIN, cardMax: PROTOCOL_VERSION_MAX });
      this.emit('host-hello', m.softwareVersion, compatible);
    },
    keepalive: () => undefined,
    'hook-command': (m) => this.onHookCommand(m.requestId, m.command),
    'port-config': (m) => {
      if (m.callerIdMode === 'in-audio') {
        this.result(m.requestId, 'unsupported', 'caller ID in audio (FSK) is not simulated');
        return;
      }
      const found = this.ports.setCallerIdEvents(m.port, m.callerIdMode === 'card-decoded');
      this.result(m.requestId, found ? 'ok' : 'bad-port', found ? '' : `port ${m.port} not in 1..${this.ports.infos.length}`);
    },
    'span-config': (m) => this.result(m.requestId, 'bad-argument', `span ${m.span}: this card has no spans (4 analog FXO ports)`),
    pcm: (m) => {
      for (const c of m.chunks) this.ports.hostPcm(c.channel, c.data);
    },
    'counters-request': () => this.sendCounters(),
    dchan: () => this.unexpected('dchan'),
    'card-hello': () => this.unexpected('card-hello'),
    'line-event': () => this.unexpected('line-event'),
    'cas-bits': () => this.unexpected('cas-bits'),
    'command-result': () => this.unexpected('command-result'),
    counters: () => this.unexpected('counters'),
  };

  private unexpected(type: MessageType): void {
    this.counters.unexpectedMessages++;
    this.log.warn('unexpected message from host', { type });
  }

  private sendCounters(): void {
    const s = this.decoder.stats;
    // pcmUnderruns/pcmOverruns: the simulator has no playout buffer toward the line, so neither occurs.
    this.send({ type: 'counters', spans: [], linkRxCrcErrors: s.crcErrors, linkRxFramesLost: s.framesLost, pcmUnderruns: 0, pcmOverruns: 0 });
  }

  private onHookCommand(requestId: number, cmd: HookCommand): void {
    const outcome = this.ports.execute(cmd);
    for (const e of outcome.events) this.sendLineEvent(e);
    this.log.debug('hook command', { kind: cmd.kind, port: cmd.port, status: outcome.status });
    this.emit('command', cmd.kind, cmd.port, outcome.status);
    if (outcome.completeAfterMs === 0) {
      this.result(requestId, outcome.status, outcome.detail);
      return;
    }
    const t = this.clock.setTimeout(() => {
      this.pendingResults.delete(t);
      this.result(requestId, outcome.status, outcome.detail);
    }, outcome.completeAfterMs);
    this.pendingResults.add(t);
  }

  private result(requestId: number, status: CommandStatus, detail: string): void {
    this.send({ type: 'command-result', requestId, status, detail });
  }

  private sendLineEvent(event: LineEvent): void {
    this.emit('line-event', event);
    if (this.stateValue === 'ready') this.send({ type: 'line-event', event });
  }

  // ---- TDM -------------------------------------------------------------------------------------

  private onTick(): void {
    const { events, chunks } = this.ports.tick();
    for (const e of events) this.sendLineEvent(e);
    if (chunks.length > 0 && this.stateValue === 'ready') this.send({ type: 'pcm', tdmSample: this.tdmSample, chunks });
    this.tdmSample = (this.tdmSample + 80) >>> 0;
  }

  private onCallState(call: PstnCall, state: PstnCallState): void {
    switch (state) {
      case 'ringing':
      case 'ringback':
        this.calls.push(call);
        if (this.calls.length > (this.opts.historyLimit ?? 100)) this.calls.shift();
        this.emit('call-started', call);
        break;
      case 'connected':
        this.log.info('call answered', { callId: call.id, port: call.port });
        this.emit('call-answered', call);
        break;
      case 'caller-gone':
        this.log.info('far end hung up', { callId: call.id, port: call.port });
        this.emit('caller-hung-up', call);
        break;
      case 'ended':
        this.log.info('call ended', { callId: call.id, port: call.port, reason: call.endReason, keypresses: call.keypresses.length });
        this.emit('call-ended', call);
        break;
    }
  }

  private transition(next: SimLinkState): void {
    if (!TRANSITIONS[this.stateValue].includes(next)) {
      throw new TonewallError('SIM_LINK_STATE', `simulated card link: illegal transition ${this.stateValue} → ${next}`);
    }
    this.stateValue = next;
  }
}
