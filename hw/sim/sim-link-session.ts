/**
 * The card side of one host link (docs/card-link.md §3): the byte stream, frame numbering and
 * decoding with the shared hw/link codec, keepalive both ways and host liveness. It knows nothing
 * of ports or calls; SimCard (sim-card.ts) handles the messages.
 *
 *   detached ──attach──▶ attached ──markReady (host-hello it can speak)──▶ ready ──miss limit──▶ lost
 *      ▲                    │ (only hello/keepalive may be sent or accepted)   ▲                  │
 *      └──── stream closed / dropLink() / stop() ◀─────────────────────────────┴── any frame ─────┘
 *
 * Keepalive (§3.2): the card sends one when it has sent nothing for `keepaliveMs`, only to a host
 * that is present (ready); no frame from the host for `keepaliveMissLimit` intervals makes the host
 * lost (the card keeps listening); any frame brings it back.
 */
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../base/clock';
import { TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import { TypedEmitter } from '../base/typed-emitter';
import { FrameDecoder, FrameEncoder, type DecoderStats, type LinkMessage } from '../link';

export type SimLinkState = 'detached' | 'attached' | 'ready' | 'lost';

const TRANSITIONS: Record<SimLinkState, readonly SimLinkState[]> = {
  detached: ['attached'],
  attached: ['ready', 'detached', 'attached'],
  ready: ['lost', 'detached', 'attached', 'ready'],
  lost: ['ready', 'detached', 'attached'],
};

export interface SimLinkSessionOptions {
  clock: Clock;
  log: Logger;
  keepaliveMs: number;
  keepaliveMissLimit: number;
}

export interface SimLinkSessionEvents {
  attached: [];
  detached: [reason: string];
  message: [msg: LinkMessage];
  lost: [];
}

export class SimLinkSession extends TypedEmitter<SimLinkSessionEvents> {
  private stream: Duplex | undefined;
  private encoder = new FrameEncoder();
  private decoder = new FrameDecoder();
  private stateValue: SimLinkState = 'detached';
  private timer: TimerHandle | undefined;
  private lastRxMs = 0;
  private lastTxMs = 0;
  private keepalivesEnabled = true;
  private paused = false;
  readonly counters = { framesOut: 0, hostsLost: 0 };

  constructor(private readonly opts: SimLinkSessionOptions) {
    super();
  }

  get state(): SimLinkState {
    return this.stateValue;
  }

  /** What the host sent: frames, CRC and header errors, resync bytes, lost frames. */
  get rxStats(): DecoderStats {
    return this.decoder.stats;
  }

  start(): void {
    this.timer ??= this.opts.clock.setInterval(() => this.onTimer(), this.opts.keepaliveMs);
  }

  stop(reason: string): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.detach(reason);
  }

  /** Takes a host byte stream; replaces any previous one. The caller then sends its hello. */
  attach(stream: Duplex): void {
    if (this.stream) this.detach('replaced by a new host connection');
    this.stream = stream;
    this.encoder = new FrameEncoder();
    this.decoder = new FrameDecoder({ onError: (e) => this.opts.log.debug('bad frame from host', { kind: e.kind, reason: e.reason }) });
    this.lastRxMs = this.opts.clock.monotonicMs();
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
    this.emit('attached');
  }

  detach(reason: string): void {
    const s = this.stream;
    if (!s) return;
    this.stream = undefined;
    s.removeAllListeners('data');
    s.on('error', () => undefined);
    s.end();
    this.transition('detached');
    this.emit('detached', reason);
  }

  get attachedStream(): boolean {
    return this.stream !== undefined;
  }

  /** The host said a hello the card can speak. */
  markReady(): void {
    this.transition('ready');
  }

  /** The card restarted under the link: new numbering, the host must say hello again. */
  restart(): void {
    if (!this.stream) return;
    this.encoder = new FrameEncoder();
    this.decoder.reset();
    this.transition('attached');
  }

  send(msg: LinkMessage): void {
    if (!this.stream || this.paused) return;
    this.stream.write(this.encoder.encode(msg));
    this.lastTxMs = this.opts.clock.monotonicMs();
    this.counters.framesOut++;
  }

  // ---- fault injection -------------------------------------------------------------------------

  writeRaw(bytes: Uint8Array): void {
    this.stream?.write(Buffer.from(bytes));
  }

  /** Closes the stream abruptly, as a cable pull would. */
  drop(): void {
    const s = this.stream;
    this.detach('link dropped (fault injection)');
    s?.destroy();
  }

  setKeepalivesEnabled(enabled: boolean): void {
    this.keepalivesEnabled = enabled;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
  }

  // ---- internals -------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.lastRxMs = this.opts.clock.monotonicMs();
    for (const frame of this.decoder.push(chunk)) {
      if (this.stateValue === 'lost') {
        this.opts.log.info('host is back');
        this.transition('ready');
      }
      this.emit('message', frame.message);
      if (!this.stream) return;
    }
  }

  private onTimer(): void {
    const now = this.opts.clock.monotonicMs();
    if (this.stateValue === 'ready' && now - this.lastRxMs > this.opts.keepaliveMissLimit * this.opts.keepaliveMs) {
      this.counters.hostsLost++;
      this.transition('lost');
      this.opts.log.warn('host lost: keepalive miss limit reached', { missLimit: this.opts.keepaliveMissLimit, keepaliveMs: this.opts.keepaliveMs });
      this.emit('lost');
    }
    // Only toward a host that is present: a pty nobody has open would fill up with keepalives.
    if (this.stateValue === 'ready' && this.keepalivesEnabled && now - this.lastTxMs >= this.opts.keepaliveMs) this.send({ type: 'keepalive' });
  }

  private transition(next: SimLinkState): void {
    if (!TRANSITIONS[this.stateValue].includes(next)) {
      throw new TonewallError('SIM_LINK_STATE', `simulated card link: illegal transition ${this.stateValue} → ${next}`);
    }
    this.stateValue = next;
  }
}
