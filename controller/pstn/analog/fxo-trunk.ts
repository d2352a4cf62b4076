/**
 * The analog trunk: one FxoLine per FXO port the card reports in its hello, fed by the card's line
 * events, offering inbound calls to whoever listens for `incoming` (the call manager), and placing
 * outward calls (PstnDialer) on a free port: seizure, dial tone, DTMF dialling by the card, answer
 * supervision (fxo-line.ts). With `decodePcm` the trunk feeds each line the audio of its channel, so
 * lines hear dial tone and busy/reorder; without it they dial blind and hear nothing.
 */
import type { Clock } from '../../../hw/base/clock';
import { TonewallError } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { CardInfo, CompandingLaw, LineEvent, TelephonyCard } from '../../../hw/card/types';
import { FailedCall, unplacedInfo } from '../failed-call';
import { checkOutboundRequest } from '../outbound-request';
import type { OutboundCallRequest, PstnCall, PstnDialer, PstnTrunkEvents } from '../types';
import { FxoLine, type AnswerSupervision } from './fxo-line';
import type { FskStandard } from '../../dsp/fsk-demodulator';
import type { CallerIdMode } from '../../../hw/link/messages';

export interface FxoTrunkOptions {
  card: TelephonyCard;
  clock: Clock;
  log: Logger;
  /** The number each port's line represents, by port; `defaultLineNumber` for the rest. */
  lineNumbers: Readonly<Record<string, string>>;
  defaultLineNumber: string;
  ringTimeoutMs: number;
  /**
   * G.711 expansion of the card's PCM (the composition root passes controller/media's decoder; pstn does
   * not import media). Enables dial-tone and busy/reorder detection on outward calls.
   */
  decodePcm?: (law: CompandingLaw, data: Buffer) => Int16Array;
  /** Answer supervision of outward calls per port (by port number as a string), else `defaultAnswerSupervision`. */
  answerSupervision?: Readonly<Record<string, AnswerSupervision>>;
  defaultAnswerSupervision?: AnswerSupervision;
  dialToneTimeoutMs?: number;
  blindDialDelayMs?: number;
  noAnswerTimeoutMs?: number;
  /**
   * Caller ID in the audio (needs `decodePcm`): the exchange's FSK standard. With `configurePort` the
   * trunk sets every FXO port to in-audio caller ID (port-config, docs/card-link.md) at link-up.
   */
  callerIdFsk?: FskStandard;
  configurePort?: (cfg: { port: number; callerIdMode: CallerIdMode; rxGainDeciDb: number; txGainDeciDb: number }) => Promise<void>;
}

export class FxoTrunk extends TypedEmitter<PstnTrunkEvents> implements PstnDialer {
  private readonly lines = new Map<number, FxoLine>();
  private readonly byChannel = new Map<number, FxoLine>();
  private readonly onPcm = (channel: number, data: Buffer): void => {
    const line = this.byChannel.get(channel);
    const law = this.opts.card.info?.law;
    if (!line || !law || !this.opts.decodePcm) return;
    line.audio(this.opts.decodePcm(law, data));
  };
  private readonly onLinkUp = (info: CardInfo): void => this.configure(info);
  private readonly onLinkDown = (): void => {
    for (const line of this.lines.values()) line.linkDown();
  };
  private readonly onLine = (event: LineEvent): void => this.route(event);

  constructor(private readonly opts: FxoTrunkOptions) {
    super();
  }

  start(): void {
    this.opts.card.on('link-up', this.onLinkUp);
    this.opts.card.on('link-down', this.onLinkDown);
    this.opts.card.on('line', this.onLine);
    if (this.opts.decodePcm) this.opts.card.on('pcm', this.onPcm);
    if (this.opts.card.info) this.configure(this.opts.card.info);
  }

  /**
   * PstnDialer: an outward call on `request.trunk` (`port/N`) or the lowest idle port. No idle port
   * (or the one named is busy or missing): a call released with 34 (no circuit/channel available).
   */
  placeCall(request: OutboundCallRequest): PstnCall {
    const name = checkOutboundRequest(request);
    if (name && name.kind !== 'port') throw new TonewallError('EPSTN_REQUEST', `trunk ${request.trunk ?? ''} is not an analog port (expected port/N)`);
    const line = name ? this.lines.get(name.n) : [...this.lines.values()].find((l) => l.isIdle);
    if (!line?.isIdle) {
      const why = name ? `port ${name.n} is ${line ? line.state : 'not an FXO port'}` : 'no idle FXO port';
      return new FailedCall(unplacedInfo(request.trunk ?? 'port/any', request.calledNumber, request.callingNumber, request.callingName), 34, why);
    }
    return line.dial(request);
  }

  /** Whether an outward call could start now (an idle FXO port). */
  available(): boolean {
    return [...this.lines.values()].some((l) => l.isIdle);
  }

  stop(): void {
    this.opts.card.off('link-up', this.onLinkUp);
    this.opts.card.off('link-down', this.onLinkDown);
    this.opts.card.off('line', this.onLine);
    this.opts.card.off('pcm', this.onPcm);
  }

  /** Port states, for health and the `ports/{n}` topic. */
  portStates(): { port: number; state: string }[] {
    return [...this.lines.values()].map((l) => ({ port: l.port, state: l.state }));
  }

  private configure(info: CardInfo): void {
    const inAudio = this.opts.callerIdFsk !== undefined && this.opts.decodePcm !== undefined;
    for (const p of info.ports) {
      if (p.kind !== 'fxo') continue;
      if (inAudio && this.opts.configurePort) {
        this.opts.configurePort({ port: p.port, callerIdMode: 'in-audio', rxGainDeciDb: 0, txGainDeciDb: 0 }).catch((err: unknown) => {
          this.opts.log.warn('port-config for in-audio caller ID refused', { port: p.port, err });
        });
      }
      if (this.lines.has(p.port)) continue;
      const line = new FxoLine({
        port: p.port,
        channel: p.channel,
        lineNumber: this.opts.lineNumbers[String(p.port)] ?? this.opts.defaultLineNumber,
        ringTimeoutMs: this.opts.ringTimeoutMs,
        clock: this.opts.clock,
        sendCommand: (cmd) => this.opts.card.command(cmd),
        onOffer: (call) => this.emit('incoming', call),
        answerSupervision: this.opts.answerSupervision?.[String(p.port)] ?? this.opts.defaultAnswerSupervision ?? 'none',
        hearsAudio: this.opts.decodePcm !== undefined,
        ...(inAudio && this.opts.callerIdFsk ? { callerIdFsk: this.opts.callerIdFsk } : {}),
        ...(this.opts.dialToneTimeoutMs !== undefined ? { dialToneTimeoutMs: this.opts.dialToneTimeoutMs } : {}),
        ...(this.opts.blindDialDelayMs !== undefined ? { blindDialDelayMs: this.opts.blindDialDelayMs } : {}),
        ...(this.opts.noAnswerTimeoutMs !== undefined ? { noAnswerTimeoutMs: this.opts.noAnswerTimeoutMs } : {}),
      });
      this.lines.set(p.port, line);
      this.byChannel.set(p.channel, line);
    }
    this.opts.log.info('analog trunk configured', { ports: info.ports.filter((p) => p.kind === 'fxo').map((p) => p.port) });
  }

  private route(event: LineEvent): void {
    if (event.kind === 'span-alarm') return;
    const line = this.lines.get(event.port);
    if (!line) {
      this.emit('warning', `line event ${event.kind} for unknown port ${event.port}`);
      return;
    }
    try {
      line.handle(event);
    } catch (err) {
      this.opts.log.error('line event rejected', { port: event.port, event: event.kind, err });
    }
  }
}
