/**
 * The TelephonyCard driver: the host side of the card link (docs/card-link.md) over serialport.
 *
 * A SerialPortStream with a BindingInterface passed in: @serialport/bindings-cpp for a tty (a real
 * card, a pty), SocketBinding for `unix:`/`tcp:` addresses. The link state machine is in
 * link-state.ts (diagram and table); this class executes it:
 * - connecting: opens the port; failure → disconnected, reconnect after a jittered exponential
 *   backoff (reconnectMinMs..reconnectMaxMs).
 * - handshaking: sends host-hello now and every keepaliveMs; a card-hello with a protocol version in
 *   the host's range → up; none within keepaliveMs × keepaliveMissLimit → disconnected.
 * - up: keepalive every keepaliveMs; an interval with no frame from the card counts a missed
 *   keepalive, keepaliveMissLimit in a row → disconnected (link-down). A card-hello while up means
 *   the card restarted → handshaking.
 * Timers are armed on entry to a state and cancelled on exit. Requests (hook commands, span/port
 * configuration) go through the Waitress: wait armed before the write, one id per request, a
 * timeout names the request. PCM toward the card never blocks: it is dropped and counted when the
 * link is not up or the port's write buffer is over maxTxBufferedBytes.
 */
import type { BindingInterface } from '@serialport/bindings-interface';
import { systemClock, type Clock, type TimerHandle } from '../base/clock';
import { TonewallError, errorMessage } from '../base/errors';
import type { Logger } from '../base/logger';
import { TypedEmitter } from '../base/typed-emitter';
import { FrameDecoder, FrameEncoder, type FrameError } from '../link/codec';
import {
  MAX_PCM_CHUNK_BYTES,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  type CardHelloMessage,
  type CountersMessage,
  type LinkMessage,
  type LinkMessageOf,
  type MessageType,
  type PortConfigMessage,
  type SpanConfigMessage,
} from '../link/messages';
import { CardPort } from './card-port';
import { checkTransition, isDuplicateHello, reconnectDelayMs } from './link-state';
import { PcmBatcher } from './pcm-batcher';
import { commandTimeoutMs, describeCommand, type CardLinkExtraEvents, type SerialCardOptions } from './serial-card-options';
import { loadSerialBinding } from './serial-binding';
import { SocketBinding } from './socket-binding';
import type { CardEvents, CardInfo, CardLinkState, HookCommand, LinkCounters, TelephonyCard } from './types';
import { Waitress } from './waitress';

export type { CardLinkExtraEvents, SerialCardOptions } from './serial-card-options';

export class SerialCard extends TypedEmitter<CardEvents> implements TelephonyCard {
  /** D-channel frames, CAS bits and counters reports from the card. */
  readonly linkEvents = new TypedEmitter<CardLinkExtraEvents>();
  private linkState: CardLinkState = 'disconnected';
  private cardInfo: CardInfo | undefined;
  private lastCounters: Omit<CountersMessage, 'type'> | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly address: string;
  private binding: BindingInterface | undefined;
  private port: CardPort | undefined;
  private closing: Promise<void> = Promise.resolve();
  private stateTimers: TimerHandle[] = [];
  private stopped = true;
  private attempt = 0;
  private failures = 0;
  private everConnected = false;
  private missedIntervals = 0;
  /** Hello bookkeeping of the current handshake, to tell a duplicate hello from a card restart. */
  private hostHellosSent = 0;
  private cardHellosSeen = 0;
  private framesSinceUp = 0;
  private frameSinceCheck = false;
  private knownChannels = new Set<number>();
  private warnedChannels = new Set<number>();
  private readonly decoder: FrameDecoder;
  private encoder = new FrameEncoder();
  private readonly waitress: Waitress;
  private readonly pcmOut: PcmBatcher;
  private readonly own = { framesOut: 0, bytesOut: 0, bytesIn: 0, wrongDirection: 0, keepalivesMissed: 0, reconnects: 0, pcmDropped: 0 };

  constructor(private readonly options: SerialCardOptions) {
    super();
    this.log = options.log.child('card');
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const socket = options.transport === 'socket';
    this.address = (socket ? options.socket : options.path) ?? '';
    if (!this.address) throw new TonewallError('CARD_CONFIG', `card ${socket ? 'socket' : 'path'} is empty, expected ${socket ? 'unix:/path or tcp:host:port' : 'a tty path such as /dev/ttyACM0'}`);
    this.binding = options.binding ?? (socket ? new SocketBinding() : undefined);
    this.decoder = new FrameDecoder({ onError: (e) => this.onFrameError(e) });
    this.waitress = new Waitress(this.clock);
    this.pcmOut = new PcmBatcher((msg) => this.sendPcmFrame(msg), queueMicrotask);
  }

  get state(): CardLinkState {
    return this.linkState;
  }

  get info(): CardInfo | undefined {
    return this.cardInfo;
  }

  /** The card's last counters report (span slips and CRC errors, what the card saw of the host). */
  get cardCounters(): Readonly<Omit<CountersMessage, 'type'>> | undefined {
    return this.lastCounters;
  }

  get counters(): Readonly<LinkCounters> {
    const d = this.decoder.stats;
    return {
      framesIn: d.frames,
      framesOut: this.own.framesOut,
      bytesIn: this.own.bytesIn,
      bytesOut: this.own.bytesOut,
      crcErrors: d.crcErrors + d.headerErrors,
      resyncBytesSkipped: d.resyncBytesSkipped,
      malformedFrames: d.malformedFrames + this.own.wrongDirection,
      framesLost: d.framesLost,
      keepalivesMissed: this.own.keepalivesMissed,
      reconnects: this.own.reconnects,
      pcmDropped: this.own.pcmDropped,
    };
  }

  start(): Promise<void> {
    if (!this.stopped) return Promise.resolve();
    this.stopped = false;
    this.goto('connecting', 'start');
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.attempt++;
    if (this.linkState === 'disconnected') this.cancelStateTimers();
    else this.goto('disconnected', 'stopped');
    await this.closing;
  }

  command(cmd: HookCommand): Promise<void> {
    const description = describeCommand(cmd);
    const info = this.cardInfo;
    if (this.linkState === 'up' && info && !info.ports.some((p) => p.port === cmd.port)) {
      const have = info.ports.map((p) => p.port).join(', ') || 'none';
      return Promise.reject(new TonewallError('CARD_BAD_PORT', `${description}: no such port, card has ports ${have}`));
    }
    return this.request(description, commandTimeoutMs(cmd, this.options.commandTimeoutMs ?? 2000), (requestId) => ({ type: 'hook-command', requestId, command: cmd }));
  }

  /** Configures a span (line code, framing, signaling, clock source); resolves when the card accepts it. */
  configureSpan(cfg: Omit<SpanConfigMessage, 'type' | 'requestId'>): Promise<void> {
    return this.request(`span-config of span ${cfg.span}`, this.options.commandTimeoutMs ?? 2000, (requestId) => ({ type: 'span-config', requestId, ...cfg }));
  }

  /** Configures an analog port (caller-ID mode, gains); resolves when the card accepts it. */
  configurePort(cfg: Omit<PortConfigMessage, 'type' | 'requestId'>): Promise<void> {
    return this.request(`port-config of port ${cfg.port}`, this.options.commandTimeoutMs ?? 2000, (requestId) => ({ type: 'port-config', requestId, ...cfg }));
  }

  /** Asks the card for a counters report (arrives as a linkEvents 'counters' event). Returns false when the link is not up. */
  requestCounters(): boolean {
    return this.linkState === 'up' && this.send({ type: 'counters-request' });
  }

  /** Sends one D-channel frame to a span. Returns false (and sends nothing) when the link is not up. */
  sendDchan(span: number, data: Uint8Array): boolean {
    return this.linkState === 'up' && this.send({ type: 'dchan', span, data: Buffer.from(data) });
  }

  writePcm(channel: number, data: Uint8Array): void {
    if (this.linkState !== 'up') {
      this.own.pcmDropped++;
      return;
    }
    if (!this.knownChannels.has(channel) || data.length < 1 || data.length > MAX_PCM_CHUNK_BYTES) {
      this.own.pcmDropped++;
      this.warnOnce(channel, `PCM toward the card dropped: channel ${channel} with ${data.length} bytes, expected a channel of the card and 1..${MAX_PCM_CHUNK_BYTES} bytes`);
      return;
    }
    this.pcmOut.add(channel, data);
  }

  // ---- state machine ----

  private goto(to: CardLinkState, reason: string): void {
    const from = this.linkState;
    checkTransition(from, to);
    this.cancelStateTimers();
    this.linkState = to;
    this.log.debug('card link state', { from, to, reason });
    if (from === 'up') this.leaveUp(reason);
    switch (to) {
      case 'disconnected':
        return this.enterDisconnected(from, reason);
      case 'connecting':
        return this.enterConnecting();
      case 'handshaking':
        return this.enterHandshaking();
      case 'up':
        return this.enterUp();
    }
  }

  private cancelStateTimers(): void {
    for (const t of this.stateTimers) t.cancel();
    this.stateTimers = [];
  }

  private leaveUp(reason: string): void {
    this.own.pcmDropped += this.pcmOut.clear();
    this.waitress.failAll(`card link went down: ${reason}`);
    this.log.warn('card link down', { reason });
    this.emit('link-down', reason);
  }

  private enterDisconnected(from: CardLinkState, reason: string): void {
    this.waitress.failAll(`card link is down: ${reason}`);
    this.closePort();
    if (this.stopped) return;
    this.failures++;
    const delayMs = reconnectDelayMs(this.failures, this.options.reconnectMinMs, this.options.reconnectMaxMs, this.random);
    if (from !== 'up') this.log[this.failures === 1 ? 'warn' : 'debug']('card link attempt failed', { reason, retryInMs: delayMs, failures: this.failures });
    this.stateTimers.push(this.clock.setTimeout(() => this.goto('connecting', 'reconnect timer'), delayMs));
  }

  private enterConnecting(): void {
    if (this.everConnected || this.failures > 0) this.own.reconnects++;
    const attempt = ++this.attempt;
    void this.openPort(attempt);
  }

  private enterHandshaking(): void {
    this.hostHellosSent = 0;
    this.cardHellosSeen = 0;
    const hello = (): void => {
      this.hostHellosSent++;
      this.send({ type: 'host-hello', protocolMin: PROTOCOL_VERSION_MIN, protocolMax: PROTOCOL_VERSION_MAX, softwareVersion: this.options.softwareVersion ?? 'tonewall' });
    };
    hello();
    const { keepaliveMs, keepaliveMissLimit } = this.options;
    this.stateTimers.push(this.clock.setInterval(hello, keepaliveMs));
    this.stateTimers.push(
      this.clock.setTimeout(() => this.goto('disconnected', `no card-hello within ${keepaliveMs * keepaliveMissLimit} ms`), keepaliveMs * keepaliveMissLimit),
    );
  }

  private enterUp(): void {
    const info = this.cardInfo;
    if (!info) throw new TonewallError('CARD_LINK_STATE', 'entered up without a card-hello, expected card info');
    this.failures = 0;
    this.everConnected = true;
    this.missedIntervals = 0;
    this.framesSinceUp = 0;
    this.frameSinceCheck = true;
    this.warnedChannels = new Set();
    this.knownChannels = new Set(info.ports.map((p) => p.channel));
    for (const s of info.spans) for (let c = s.firstChannel; c < s.firstChannel + s.channels; c++) this.knownChannels.add(c);
    this.stateTimers.push(this.clock.setInterval(() => this.keepaliveTick(), this.options.keepaliveMs));
    this.log.info('card link up', { model: info.model, firmwareVersion: info.firmwareVersion, protocolVersion: info.protocolVersion, ports: info.ports.length, spans: info.spans.length });
    this.emit('link-up', info);
  }

  private keepaliveTick(): void {
    if (this.frameSinceCheck) this.missedIntervals = 0;
    else {
      this.missedIntervals++;
      this.own.keepalivesMissed++;
      if (this.missedIntervals >= this.options.keepaliveMissLimit) {
        this.goto('disconnected', `no frame from the card for ${this.missedIntervals} keepalive intervals of ${this.options.keepaliveMs} ms`);
        return;
      }
    }
    this.frameSinceCheck = false;
    this.send({ type: 'keepalive' });
  }

  // ---- port ----

  private async openPort(attempt: number): Promise<void> {
    let port: CardPort;
    try {
      this.binding ??= await loadSerialBinding();
      port = await CardPort.open(this.binding, this.address, this.options.baudRate, {
        onData: (chunk) => {
          if (this.port === port) this.onBytes(chunk);
        },
        onClose: (reason) => {
          if (this.port !== port) return;
          this.port = undefined;
          this.goto('disconnected', reason);
        },
        onError: (message) => this.log.warn('card port error', { error: message }),
      });
    } catch (err) {
      if (attempt === this.attempt && this.linkState === 'connecting') this.goto('disconnected', `cannot open ${this.address}: ${errorMessage(err)}`);
      return;
    }
    if (attempt !== this.attempt || this.linkState !== 'connecting') {
      void port.close();
      return;
    }
    this.port = port;
    this.decoder.reset();
    this.encoder = new FrameEncoder();
    this.goto('handshaking', `opened ${this.address}`);
  }

  private closePort(): void {
    const p = this.port;
    this.port = undefined;
    if (p) this.closing = p.close();
  }

  private send(msg: LinkMessage): boolean {
    const p = this.port;
    if (!p || !p.isOpen) return false;
    const frame = this.encoder.encode(msg);
    this.own.framesOut++;
    this.own.bytesOut += frame.length;
    return p.write(frame);
  }

  private sendPcmFrame(msg: LinkMessageOf<'pcm'>): void {
    const p = this.port;
    if (this.linkState !== 'up' || !p || p.writableLength > (this.options.maxTxBufferedBytes ?? 65536)) {
      this.own.pcmDropped += msg.chunks.length;
      return;
    }
    this.send(msg);
  }

  private request(description: string, timeoutMs: number, build: (requestId: number) => LinkMessage): Promise<void> {
    if (this.linkState !== 'up') {
      return Promise.reject(new TonewallError('CARD_LINK_DOWN', `${description}: card link is ${this.linkState}, expected up`));
    }
    const { requestId, reply } = this.waitress.arm(description, timeoutMs);
    try {
      if (!this.send(build(requestId))) this.waitress.fail(requestId, new TonewallError('CARD_LINK_DOWN', `${description}: card port is not open`));
    } catch (err) {
      this.waitress.fail(requestId, err instanceof Error ? err : new Error(errorMessage(err)));
    }
    return reply;
  }

  // ---- receive ----

  private onBytes(chunk: Buffer): void {
    this.own.bytesIn += chunk.length;
    for (const f of this.decoder.push(chunk)) {
      this.frameSinceCheck = true;
      this.dispatch(f.message);
      if (this.port === undefined) return;
    }
  }

  private onFrameError(e: FrameError): void {
    if (e.kind === 'malformed') this.frameSinceCheck = true;
    this.log.debug('card link frame rejected', { kind: e.kind, reason: e.reason });
    if (e.kind === 'malformed') this.emit('warning', `card frame rejected: ${e.reason}`);
  }

  private dispatch(msg: LinkMessage): void {
    if (msg.type === 'card-hello') return this.onCardHello(msg);
    if (this.linkState !== 'up') {
      this.log.debug('card frame ignored before the handshake', { type: msg.type });
      return;
    }
    this.framesSinceUp++;
    (this.handlers[msg.type] as (m: LinkMessage) => void)(msg);
  }

  private readonly handlers: { [T in MessageType]: (m: LinkMessageOf<T>) => void } = {
    'card-hello': (m) => this.onCardHello(m),
    keepalive: () => undefined,
    'line-event': (m) => this.emit('line', m.event),
    'cas-bits': ({ type: _t, ...bits }) => this.linkEvents.emit('cas-bits', bits),
    dchan: (m) => this.linkEvents.emit('dchan', m.span, m.data),
    'command-result': (m) => {
      if (!this.waitress.settle(m)) this.emit('warning', `card answered request ${m.requestId}, which is not outstanding`);
    },
    pcm: (m) => {
      for (const c of m.chunks) {
        if (this.knownChannels.has(c.channel)) this.emit('pcm', c.channel, c.data);
        else {
          this.own.pcmDropped++;
          this.warnOnce(c.channel, `PCM from the card dropped: channel ${c.channel} is not a channel of the card`);
        }
      }
    },
    counters: ({ type: _t, ...report }) => {
      this.lastCounters = report;
      this.linkEvents.emit('counters', report);
    },
    'host-hello': (m) => this.wrongDirection(m.type),
    'span-config': (m) => this.wrongDirection(m.type),
    'port-config': (m) => this.wrongDirection(m.type),
    'hook-command': (m) => this.wrongDirection(m.type),
    'counters-request': (m) => this.wrongDirection(m.type),
  };

  private onCardHello(m: CardHelloMessage): void {
    this.cardHellosSeen++;
    if (this.linkState === 'up') {
      const { type: _t, ...info } = m;
      const sameInfo = JSON.stringify(info) === JSON.stringify(this.cardInfo);
      if (isDuplicateHello({ framesSinceUp: this.framesSinceUp, cardHellosSeen: this.cardHellosSeen, hostHellosSent: this.hostHellosSent, sameInfo })) {
        this.log.debug('duplicate card-hello absorbed');
        return;
      }
      this.goto('handshaking', 'card restarted: card-hello while up');
      return;
    }
    if (this.linkState !== 'handshaking') return;
    if (m.protocolVersion < PROTOCOL_VERSION_MIN || m.protocolVersion > PROTOCOL_VERSION_MAX) {
      const reason = `card speaks protocol version ${m.protocolVersion}, host speaks ${PROTOCOL_VERSION_MIN}..${PROTOCOL_VERSION_MAX}`;
      this.log.error('card protocol version not supported', { cardVersion: m.protocolVersion });
      this.emit('warning', reason);
      this.goto('disconnected', reason);
      return;
    }
    const { type: _t, ...info } = m;
    this.cardInfo = info;
    this.goto('up', 'card-hello');
  }

  private wrongDirection(type: MessageType): void {
    this.own.wrongDirection++;
    this.emit('warning', `card sent ${type}, which only the host sends`);
  }

  private warnOnce(channel: number, message: string): void {
    if (this.warnedChannels.has(channel)) return;
    this.warnedChannels.add(channel);
    this.log.warn(message);
    this.emit('warning', message);
  }
}
