/**
 * The simulated telephony card: the CARD side of the card link (hw/link codec, docs/card-link.md)
 * with a 4-port analog FXO card and the PSTN behind it (sim-ports.ts, pstn-call.ts), or with model
 * 'e1-pri' / 't1-pri' one PRI span whose network side it runs (sim-pri-models.ts, sim-pri-span.ts). The link
 * session (sim-link-session.ts) carries the frames over any byte stream: a socket from the socket
 * server, which is also what QEMU's serial chardev and socat's pty bridge connect to.
 *
 * - On attach the card sends its hello unsolicited; it answers every host-hello with a card-hello
 *   (sequence numbers restart at 0 with a hello, both ways), and speaks only after one it can speak.
 * - Line events and PCM go to the host only while the session is ready; the PSTN goes on regardless
 *   (callers ring and give up whether or not anyone is listening).
 * - PCM: every TDM tick (10 ms, the injected TDM clock) one pcm message with an 80-byte chunk per
 *   channel that has audio, `tdmSample` = the card's 8 kHz sample count. Host PCM is played out to
 *   the far end at the TDM rate from a small buffer (playout-buffer.ts).
 *
 * hw/sim imports pure DSP helpers from controller/ (tone generation, G.711): an exception to
 * "layers point down", because the simulator is a test peer playing the network, not a layer of
 * the appliance.
 */
import type { Duplex } from 'node:stream';
import { systemClock, type Clock, type TimerHandle } from '../base/clock';
import { errorMessage, TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import { TypedEmitter } from '../base/typed-emitter';
import type { CardInfo, CompandingLaw, HookCommand, LineEvent, SpanAlarm } from '../card/types';
import { MAX_PAYLOAD_BYTES, MAX_PCM_CHUNK_BYTES } from '../link/messages';
import { PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN, type CommandStatus, type DecoderStats, type LinkMessage, type LinkMessageOf, type MessageType } from '../link';
import { parseCallScript, type CallScript, type CallScriptInput } from './call-script';
import type { CalleeScript, DisconnectSupervision, PstnCall, PstnCallState } from './pstn-call';
import { SimLinkSession, type SimLinkState } from './sim-link-session';
import { SimPorts } from './sim-ports';
import { priModel, spanConfigProblem, type PriModel } from './sim-pri-models';
import { buildPriSpans, spanOfChannel, type SimPriSpan } from './sim-pri-span';
import { DriftCorrectedTdmClock, type TdmClock } from './tdm-clock';
import { readWavFile } from './wav-file';

export type { SimLinkState } from './sim-link-session';

export interface SimCardOptions {
  log: Logger;
  clock?: Clock;
  /** The TDM clock pacing PCM (default: drift-corrected 10 ms ticks on `clock`). */
  tdmClock?: TdmClock;
  /** 'e1-pri' or 't1-pri' selects a PRI card (sim-pri-models.ts); any other string names the 4-port FXO card. */
  model?: string;
  /** PRI models: the network side's wait before re-establishing the D channel, ms (default 1000). */
  establishRetryMs?: number;
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
  /** Far ends of outward calls by dialled / called number (others get `callee`). */
  callees?: Record<string, CalleeScript>;
  seed?: number;
  loadWav?: (path: string) => Int16Array;
  /** Calls kept for inspection (oldest dropped first). */
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
  /** PRI: the network side's D channel of a span came up or went down. */
  dchannel: [span: number, up: boolean];
  /** A hook command was executed (digits of a dial are not passed on). */
  command: [kind: HookCommand['kind'], port: number, status: CommandStatus];
}

/** The card's periodic counters report, ms. */
export const COUNTERS_INTERVAL_MS = 10_000;
/** Channels per pcm frame toward the host: 5 bytes of header + n × (2 + 80) ≤ MAX_PAYLOAD_BYTES (docs/card-link.md §4.9). */
const PCM_CHUNKS_PER_FRAME = Math.floor((MAX_PAYLOAD_BYTES - 5) / (MAX_PCM_CHUNK_BYTES + 2));

type Handlers = { [T in MessageType]: (msg: LinkMessageOf<T>) => void };

export class SimCard extends TypedEmitter<SimCardEvents> {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly tdm: TdmClock;
  private readonly ports: SimPorts;
  private readonly pri: PriModel | undefined;
  /** The PRI spans (empty for the analog card), by span number. */
  readonly spans = new Map<number, SimPriSpan>();
  private readonly link: SimLinkSession;
  private readonly pendingResults = new Set<TimerHandle>();
  private countersTimer: TimerHandle | undefined;
  private tdmSample = 0;
  private protocolVersion = PROTOCOL_VERSION_MAX;
  private running = false;
  /** Every call since start (bounded by historyLimit), oldest first. */
  readonly calls: PstnCall[] = [];
  readonly counters = { unexpectedMessages: 0 };

  constructor(private readonly opts: SimCardOptions) {
    super();
    this.log = opts.log.child('sim');
    this.clock = opts.clock ?? systemClock;
    this.tdm = opts.tdmClock ?? new DriftCorrectedTdmClock(this.clock);
    const sup = opts.supervision;
    this.ports = new SimPorts({
      portCount: priModel(opts.model) ? 0 : (opts.portCount ?? 4),
      law: opts.law ?? priModel(opts.model)?.law ?? 'ulaw',
      supervision: (port) => (typeof sup === 'string' ? sup : (sup?.[port] ?? 'loop-current-drop')),
      callee: opts.callee,
      ...(opts.callees ? { callees: opts.callees } : {}),
      seed: opts.seed ?? 1,
      loadWav: opts.loadWav ?? readWavFile,
      onCallState: (call, state) => this.onCallState(call, state),
    });
    this.pri = priModel(opts.model);
    for (const s of buildPriSpans(this.pri, {
      law: this.law,
      clock: this.clock,
      log: this.log,
      sendFrame: (span, data) => {
        if (this.link.state === 'ready') this.send({ type: 'dchan', span, data });
      },
      ...(opts.callee ? { callee: opts.callee } : {}),
      ...(opts.callees ? { callees: opts.callees } : {}),
      seed: opts.seed ?? 1,
      loadWav: opts.loadWav ?? readWavFile,
      onCallState: (call, state) => this.onCallState(call, state),
      onDchannel: (span, up) => this.emit('dchannel', span, up),
      ...(opts.establishRetryMs !== undefined ? { establishRetryMs: opts.establishRetryMs } : {}),
    })) {
      this.spans.set(s.info.span, s);
    }
    this.link = new SimLinkSession({ clock: this.clock, log: this.log, keepaliveMs: opts.keepaliveMs ?? 1000, keepaliveMissLimit: opts.keepaliveMissLimit ?? 3 });
    this.link.on('message', (m) => this.onMessage(m));
    this.link.on('lost', () => this.emit('host-lost'));
    this.link.on('detached', (reason) => {
      this.cancelPendingResults();
      this.log.info('host disconnected', { reason });
      this.emit('host-disconnected', reason);
    });
  }

  get state(): SimLinkState {
    return this.link.state;
  }

  get info(): CardInfo {
    return {
      model: this.pri?.helloModel ?? this.opts.model ?? 'TW-FXO4-SIM',
      firmwareVersion: this.opts.firmwareVersion ?? '1.0.0-sim',
      serial: this.opts.serial ?? 'SIM0000001',
      protocolVersion: this.protocolVersion,
      law: this.law,
      ports: this.ports.infos,
      spans: [...this.spans.values()].map((s) => s.info),
    };
  }

  /** The card's companding law: the option, else the model's (E1 A-law, T1 and analog µ-law). */
  get law(): CompandingLaw {
    return this.opts.law ?? this.pri?.law ?? 'ulaw';
  }

  /** Link counters: frames sent, hosts lost, unexpected messages, dropped host PCM, playout. */
  get stats(): { framesOut: number; hostsLost: number; unexpectedMessages: number; hostPcmDropped: number; pcmOverruns: number; pcmUnderruns: number } {
    const p = this.ports.playoutCounters;
    return { ...this.link.counters, ...this.counters, hostPcmDropped: this.ports.hostPcmDropped, pcmOverruns: p.overruns, pcmUnderruns: p.underruns };
  }

  /** What the host sent: frames, CRC and header errors, resync bytes, lost frames. */
  get hostLinkStats(): DecoderStats {
    return this.link.rxStats;
  }

  /** Starts the TDM clock and the keepalive timer. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tdm.start(() => this.onTick());
    this.link.start();
    for (const s of this.spans.values()) s.start();
    // docs/card-link.md §3.5: a counters report every 10 s (and on counters-request).
    this.countersTimer = this.clock.setInterval(() => {
      if (this.link.state === 'ready') this.sendCounters();
    }, COUNTERS_INTERVAL_MS);
  }

  /** Stops timers and detaches the host; calls in progress are reset. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.tdm.stop();
    this.countersTimer?.cancel();
    this.countersTimer = undefined;
    this.link.stop('simulator stopped');
    this.ports.reset();
    for (const s of this.spans.values()) s.stop();
  }

  /** Takes a host byte stream (socket, pty bridge); replaces any previous one. */
  attach(stream: Duplex): void {
    this.link.attach(stream);
    this.log.info('host connected');
    this.sendHello();
    this.emit('host-connected');
  }

  /** Starts a scripted inbound call now. Throws SIM_PORT_BUSY when the port is not idle. */
  placeCall(input: CallScriptInput): PstnCall {
    const script = parseCallScript(input);
    const spanNo = script.span ?? script.port;
    const call = this.pri ? this.spans.get(spanNo)?.placeCall(script) : this.ports.placeCall(script);
    if (!call && this.pri) throw new TonewallError('SIM_PORT_BUSY', `span ${spanNo} cannot take a call now (needs a span in 1..${this.spans.size} with its D channel up and a free B channel)`);
    if (!call) throw new TonewallError('SIM_PORT_BUSY', `port ${script.port} is not idle (or not in 1..${this.ports.infos.length}); a call needs an idle on-hook port`);
    const keys = script.audio.reduce((n, a) => n + ('keys' in a ? a.keys.length : 0), 0);
    this.log.info('call placed', { callId: call.id, ...(this.pri ? { span: spanNo } : { port: script.port }), keypresses: keys });
    return call;
  }

  /** Analog: the port is on-hook with no call. PRI (port = span): the D channel is up and a B channel free. */
  isPortIdle(port: number): boolean {
    if (this.pri) return this.spans.get(port)?.canPlaceCall ?? false;
    return this.ports.isIdle(port);
  }

  /** Whether a script's call can start now (its port, or on a PRI card its span). */
  canPlace(script: CallScript): boolean {
    return this.isPortIdle(this.pri ? (script.span ?? script.port) : script.port);
  }

  /** PRI: the TDM channel a call's audio travels on; undefined for the analog card or an ended call. */
  channelOf(call: PstnCall): number | undefined {
    return [...this.spans.values()].map((s) => s.channelOf(call)).find((ch) => ch !== undefined);
  }

  /**
   * Span alarms (fault injection): LOS, LOF or AIS take layer 1 down (no D-channel frames either way,
   * the network's data link released); an empty list clears them. Sent to the host as a span-alarm.
   */
  setSpanAlarms(span: number, alarms: SpanAlarm[]): void {
    const s = this.spans.get(span);
    if (!s) throw new TonewallError('SIM_NO_SPAN', `span ${span} does not exist (spans: ${[...this.spans.keys()].join(', ') || 'none'})`);
    s.setLayer1(!alarms.some((a) => a === 'LOS' || a === 'LOF' || a === 'AIS'));
    this.log.warn('span alarms', { span, alarms });
    this.sendLineEvent({ kind: 'span-alarm', span, alarms: [...alarms] });
  }

  isOffHook(port: number): boolean {
    return this.ports.isOffHook(port);
  }

  // ---- fault injection -------------------------------------------------------------------------

  /** D-channel loss on a span: frames dropped both ways, no alarm (see SimPriSpan.setDchannelCut). */
  setDchannelCut(span: number, cut: boolean): void {
    this.spanOrThrow(span).setDchannelCut(cut);
    this.log.warn('D channel cut', { span, cut });
  }

  /** Adds to a span's error counters (slips, CRC, framing, line code violations); reported in the next counters message. */
  injectSpanErrors(span: number, add: Partial<SimPriSpan['errorCounters']>): void {
    const c = this.spanOrThrow(span).errorCounters;
    c.slips = (c.slips + (add.slips ?? 0)) >>> 0;
    c.crcErrors = (c.crcErrors + (add.crcErrors ?? 0)) >>> 0;
    c.framingErrors = (c.framingErrors + (add.framingErrors ?? 0)) >>> 0;
    c.lineCodeViolations = (c.lineCodeViolations + (add.lineCodeViolations ?? 0)) >>> 0;
  }

  /** Sends a counters report now (as the card does every 10 s). */
  reportCounters(): void {
    if (this.link.state === 'ready') this.sendCounters();
  }

  private spanOrThrow(span: number): SimPriSpan {
    const s = this.spans.get(span);
    if (!s) throw new TonewallError('SIM_NO_SPAN', `span ${span} does not exist (spans: ${[...this.spans.keys()].join(', ') || 'none'})`);
    return s;
  }

  /** Writes raw bytes on the link (garbage between frames). */
  injectGarbage(bytes: Uint8Array): void {
    this.link.writeRaw(bytes);
  }

  /** Closes the host stream abruptly, as a cable pull would. */
  dropLink(): void {
    this.link.drop();
  }

  /** Stops (or resumes) sending keepalives; other frames still flow. */
  setKeepalivesEnabled(enabled: boolean): void {
    this.link.setKeepalivesEnabled(enabled);
  }

  /** Stops (or resumes) sending every frame: a hung card. */
  setLinkPaused(paused: boolean): void {
    this.link.setPaused(paused);
  }

  /** Card reset: calls dropped, ports on-hook, a fresh hello; the host must say hello again. */
  resetCard(): void {
    this.log.warn('card reset');
    this.cancelPendingResults();
    this.ports.reset();
    for (const s of this.spans.values()) s.reset();
    this.link.restart();
    this.sendHello();
  }

  // ---- messages from the host ------------------------------------------------------------------

  private sendHello(): void {
    this.send({ type: 'card-hello', ...this.info });
  }

  private send(msg: LinkMessage): void {
    try {
      this.link.send(msg);
    } catch (err) {
      this.log.error('cannot send frame', { type: msg.type, error: errorMessage(err) });
    }
  }

  private onMessage(msg: LinkMessage): void {
    // docs/card-link.md §3.1: nothing but hello and keepalive before a host-hello the card can speak.
    if (this.link.state === 'attached' && msg.type !== 'host-hello' && msg.type !== 'keepalive') {
      this.unexpected(msg.type);
      return;
    }
    (this.handlers[msg.type] as (m: LinkMessage) => void)(msg);
  }

  private readonly handlers: Handlers = {
    'host-hello': (m) => {
      const compatible = m.protocolMin <= PROTOCOL_VERSION_MAX && m.protocolMax >= PROTOCOL_VERSION_MIN;
      // §3.1: the highest version in both ranges, else the card's own highest.
      this.protocolVersion = compatible ? Math.min(m.protocolMax, PROTOCOL_VERSION_MAX) : PROTOCOL_VERSION_MAX;
      this.sendHello();
      if (compatible) this.link.markReady();
      else this.log.warn('host protocol range not supported', { hostMin: m.protocolMin, hostMax: m.protocolMax, cardMin: PROTOCOL_VERSION_MIN, cardMax: PROTOCOL_VERSION_MAX });
      this.emit('host-hello', m.softwareVersion, compatible);
    },
    keepalive: () => undefined,
    'hook-command': (m) => this.onHookCommand(m.requestId, m.command),
    'port-config': (m) => {
      // in-audio: the exchange's FSK burst travels in the ringing line's PCM (pstn-call.ts); none: neither.
      const found = this.ports.setCallerIdMode(m.port, m.callerIdMode);
      this.result(m.requestId, found ? 'ok' : 'bad-port', found ? '' : `port ${m.port} not in 1..${this.ports.infos.length}`);
    },
    'span-config': (m) => {
      if (!this.pri) return this.result(m.requestId, 'bad-argument', `span ${m.span}: this card has no spans (4 analog FXO ports)`);
      const problem = spanConfigProblem(this.spans.get(m.span)?.info, m);
      this.result(m.requestId, problem ? 'bad-argument' : 'ok', problem);
    },
    pcm: (m) => {
      for (const c of m.chunks) {
        if (this.pri) spanOfChannel(this.spans, c.channel)?.hostPcm(c.channel, c.data);
        else this.ports.hostPcm(c.channel, c.data);
      }
    },
    'counters-request': () => this.sendCounters(),
    dchan: (m) => {
      const s = this.spans.get(m.span);
      if (s) s.receiveFrame(m.data);
      else this.unexpected('dchan');
    },
    'card-hello': () => this.unexpected('card-hello'),
    'line-event': () => this.unexpected('line-event'),
    'cas-bits': () => this.unexpected('cas-bits'),
    'command-result': () => this.unexpected('command-result'),
    counters: () => this.unexpected('counters'),
  };

  private unexpected(type: MessageType): void {
    this.counters.unexpectedMessages++;
    this.log.warn('unexpected message from host', { type, state: this.link.state });
  }

  private sendCounters(): void {
    const s = this.link.rxStats;
    const p = this.ports.playoutCounters;
    const spans = [...this.spans.entries()].map(([span, sp]) => ({ span, ...sp.errorCounters }));
    this.send({ type: 'counters', spans, linkRxCrcErrors: s.crcErrors, linkRxFramesLost: s.framesLost, pcmUnderruns: p.underruns, pcmOverruns: p.overruns });
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

  private cancelPendingResults(): void {
    for (const t of this.pendingResults) t.cancel();
    this.pendingResults.clear();
  }

  private result(requestId: number, status: CommandStatus, detail: string): void {
    this.send({ type: 'command-result', requestId, status, detail });
  }

  private sendLineEvent(event: LineEvent): void {
    this.emit('line-event', event);
    if (this.link.state === 'ready') this.send({ type: 'line-event', event });
  }

  // ---- TDM -------------------------------------------------------------------------------------

  private onTick(): void {
    const { events, chunks } = this.ports.tick();
    for (const s of this.spans.values()) chunks.push(...s.tick());
    for (const e of events) this.sendLineEvent(e);
    // One 10 ms period of many channels (4 E1s: 120) spans several frames of at most MAX_PAYLOAD_BYTES.
    for (let i = 0; i < chunks.length && this.link.state === 'ready'; i += PCM_CHUNKS_PER_FRAME) {
      this.send({ type: 'pcm', tdmSample: this.tdmSample, chunks: chunks.slice(i, i + PCM_CHUNKS_PER_FRAME) });
    }
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
}
