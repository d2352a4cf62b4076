/**
 * The analog trunk: one FxoLine per FXO port the card reports in its hello, fed by the card's line
 * events, offering inbound calls to whoever listens for `incoming` (the call manager).
 */
import type { Clock } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { CardInfo, LineEvent, TelephonyCard } from '../../../hw/card/types';
import type { PstnTrunkEvents } from '../types';
import { FxoLine } from './fxo-line';

export interface FxoTrunkOptions {
  card: TelephonyCard;
  clock: Clock;
  log: Logger;
  /** The number each port's line represents, by port; `defaultLineNumber` for the rest. */
  lineNumbers: Readonly<Record<string, string>>;
  defaultLineNumber: string;
  ringTimeoutMs: number;
}

export class FxoTrunk extends TypedEmitter<PstnTrunkEvents> {
  private readonly lines = new Map<number, FxoLine>();
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
    if (this.opts.card.info) this.configure(this.opts.card.info);
  }

  stop(): void {
    this.opts.card.off('link-up', this.onLinkUp);
    this.opts.card.off('link-down', this.onLinkDown);
    this.opts.card.off('line', this.onLine);
  }

  /** Port states, for health and the `ports/{n}` topic. */
  portStates(): { port: number; state: string }[] {
    return [...this.lines.values()].map((l) => ({ port: l.port, state: l.state }));
  }

  private configure(info: CardInfo): void {
    for (const p of info.ports) {
      if (p.kind !== 'fxo' || this.lines.has(p.port)) continue;
      const line = new FxoLine({
        port: p.port,
        channel: p.channel,
        lineNumber: this.opts.lineNumbers[String(p.port)] ?? this.opts.defaultLineNumber,
        ringTimeoutMs: this.opts.ringTimeoutMs,
        clock: this.opts.clock,
        sendCommand: (cmd) => this.opts.card.command(cmd),
        onOffer: (call) => this.emit('incoming', call),
      });
      this.lines.set(p.port, line);
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
