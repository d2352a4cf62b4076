/**
 * A strict fake card for driver tests: speaks the card side of the link through the shared codec
 * over any byte transport (an in-memory binding peer, a pty, a socket), records every message the
 * host sent, and rejects what a real card rejects: anything before host-hello, messages only a card
 * sends, frames the decoder refuses, unknown ports/spans/channels (answered with a failing
 * command-result, or recorded as a violation for PCM and D-channel frames).
 */
import { FrameDecoder, FrameEncoder } from '../../hw/link/codec';
import type { CardHelloMessage, CommandStatus, CountersMessage, LinkMessage, LinkMessageOf, PcmChunk } from '../../hw/link/messages';
import type { HookCommand, LineEvent } from '../../hw/card/types';
import { SAMPLE_CARD_HELLO } from './link-samples';

/** Where the fake card's bytes go and come from. */
export interface FakeCardWire {
  send(bytes: Uint8Array): void;
}

export interface FakeCardOptions {
  hello?: Partial<CardHelloMessage>;
  /** Answer each host keepalive with one (a live card). Default true. */
  answerKeepalives?: boolean;
  /** Answer commands; when false they go unanswered (timeouts). Default true. */
  answerCommands?: boolean;
  /** Say hello as soon as the host opens the port, before its host-hello (as the simulator does). */
  helloOnAttach?: boolean;
  /** Override the status of the next command results. */
  commandStatus?: (cmd: LinkMessage) => CommandStatus;
}

export class FakeCard {
  readonly received: LinkMessage[] = [];
  readonly violations: string[] = [];
  /** PCM the host sent, per channel, concatenated. */
  readonly pcmIn = new Map<number, Buffer>();
  readonly dchanIn: { span: number; data: Buffer }[] = [];
  answerKeepalives: boolean;
  answerCommands: boolean;
  sessions = 0;
  private wire: FakeCardWire | undefined;
  private decoder = new FrameDecoder();
  private encoder = new FrameEncoder();
  private helloSeen = false;
  readonly hello: CardHelloMessage;

  constructor(private readonly options: FakeCardOptions = {}) {
    this.hello = { ...SAMPLE_CARD_HELLO, ...options.hello, type: 'card-hello' };
    this.answerKeepalives = options.answerKeepalives ?? true;
    this.answerCommands = options.answerCommands ?? true;
  }

  /** A new connection from the host (port opened). */
  attach(wire: FakeCardWire): void {
    this.wire = wire;
    this.sessions++;
    this.helloSeen = false;
    this.decoder = new FrameDecoder({ onError: (e) => this.violations.push(`host sent a bad frame: ${e.reason}`) });
    this.encoder = new FrameEncoder();
    if (this.options.helloOnAttach) this.sendHello();
  }

  detach(): void {
    this.wire = undefined;
  }

  /** Bytes from the host. */
  feed(bytes: Uint8Array): void {
    for (const f of this.decoder.push(bytes)) this.onMessage(f.message);
  }

  receivedOf<T extends LinkMessage['type']>(type: T): LinkMessageOf<T>[] {
    return this.received.filter((m): m is LinkMessageOf<T> => m.type === type);
  }

  send(msg: LinkMessage): void {
    this.wire?.send(this.encoder.encode(msg));
  }

  sendRaw(bytes: Uint8Array): void {
    this.wire?.send(bytes);
  }

  sendHello(): void {
    this.send(this.hello);
  }

  sendEvent(event: LineEvent): void {
    this.send({ type: 'line-event', event });
  }

  sendPcm(chunks: PcmChunk[], tdmSample = 0): void {
    this.send({ type: 'pcm', tdmSample, chunks });
  }

  private hasPort(port: number): boolean {
    return this.hello.ports.some((p) => p.port === port);
  }

  private hasSpan(span: number): boolean {
    return this.hello.spans.some((s) => s.span === span);
  }

  private hasChannel(ch: number): boolean {
    return this.hello.ports.some((p) => p.channel === ch) || this.hello.spans.some((s) => ch >= s.firstChannel && ch < s.firstChannel + s.channels);
  }

  private result(requestId: number, cmd: LinkMessage, status: CommandStatus, detail = ''): void {
    if (!this.answerCommands) return;
    const s = status === 'ok' && this.options.commandStatus ? this.options.commandStatus(cmd) : status;
    this.send({ type: 'command-result', requestId, status: s, detail: s === 'ok' ? '' : detail || s });
  }

  private onMessage(m: LinkMessage): void {
    this.received.push(m);
    if (m.type !== 'host-hello' && !this.helloSeen) {
      this.violations.push(`host sent ${m.type} before host-hello`);
      return;
    }
    switch (m.type) {
      case 'host-hello':
        this.helloSeen = true;
        if (this.hello.protocolVersion < m.protocolMin || this.hello.protocolVersion > m.protocolMax) this.violations.push(`host speaks ${m.protocolMin}..${m.protocolMax}`);
        this.sendHello();
        return;
      case 'keepalive':
        if (this.answerKeepalives) this.send({ type: 'keepalive' });
        return;
      case 'hook-command':
        return this.onHook(m.requestId, m.command, m);
      case 'span-config':
        return this.result(m.requestId, m, this.hasSpan(m.span) ? 'ok' : 'bad-argument', `no span ${m.span}`);
      case 'port-config':
        return this.result(m.requestId, m, this.hasPort(m.port) ? 'ok' : 'bad-port', `no port ${m.port}`);
      case 'pcm':
        for (const c of m.chunks) {
          if (!this.hasChannel(c.channel)) this.violations.push(`pcm for unknown channel ${c.channel}`);
          this.pcmIn.set(c.channel, Buffer.concat([this.pcmIn.get(c.channel) ?? Buffer.alloc(0), c.data]));
        }
        return;
      case 'dchan':
        if (!this.hasSpan(m.span)) this.violations.push(`dchan for unknown span ${m.span}`);
        this.dchanIn.push({ span: m.span, data: m.data });
        return;
      case 'counters-request':
        this.send(this.countersReport());
        return;
      default:
        this.violations.push(`host sent ${m.type}, which only a card sends`);
    }
  }

  private onHook(requestId: number, cmd: HookCommand, m: LinkMessage): void {
    if (!this.hasPort(cmd.port)) return this.result(requestId, m, 'bad-port', `no port ${cmd.port}`);
    if (cmd.kind === 'flash' && (cmd.durationMs < 50 || cmd.durationMs > 2000)) return this.result(requestId, m, 'bad-argument', 'flash 50..2000 ms');
    this.result(requestId, m, 'ok');
    if (this.answerCommands && (cmd.kind === 'off-hook' || cmd.kind === 'on-hook')) this.sendEvent({ kind: 'hook-state', port: cmd.port, offHook: cmd.kind === 'off-hook' });
  }

  countersReport(): CountersMessage {
    return {
      type: 'counters',
      spans: this.hello.spans.map((s) => ({ span: s.span, slips: 1, crcErrors: 2, framingErrors: 3, lineCodeViolations: 4 })),
      linkRxCrcErrors: 0,
      linkRxFramesLost: 0,
      pcmUnderruns: 0,
      pcmOverruns: 0,
    };
  }
}
