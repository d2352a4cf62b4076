/**
 * Scheduled fault injection for the simulated card (`tonewall sim --fault …`, RunSimulatorOptions.faults):
 *
 *   KIND[:SPAN]@START[+DURATION]     times as 500ms, 10s or 2m, from when the simulator starts
 *
 *   los | lof | ais | rai   span alarm raised at START, cleared after DURATION (held when omitted)
 *   dchan                   D channel cut (frames dropped both ways, no alarm), restored after DURATION
 *   crc | slip              100 CRC errors / 1 slip added to the span's counters, reported at once
 *   garbage                 64 random bytes written on the card link between frames
 *   reset                   card reset: calls dropped, a fresh hello, the host must say hello again
 *
 * SPAN defaults to 1 (span kinds only). Examples: `los@10s+5s`, `dchan:2@30s+20s`, `reset@1m`.
 * Errors name the bad spec and what was expected; nothing runs until every spec parsed.
 */
import type { Clock, TimerHandle } from '../base/clock';
import { errorMessage, TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import type { SpanAlarm } from '../card/types';
import type { SimCard } from './sim-card';

export const FAULT_KINDS = ['los', 'lof', 'ais', 'rai', 'dchan', 'crc', 'slip', 'garbage', 'reset'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  span: number;
  atMs: number;
  /** How long until the fault clears; undefined: held (or a one-shot fault). */
  durationMs: number | undefined;
}

function ms(text: string, spec: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new TonewallError('SIM_FAULT', `fault "${spec}": time "${text}" is not a number with ms, s or m`);
  const v = Number(m[1]);
  return Math.round(m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000);
}

export function parseFault(spec: string): FaultSpec {
  const m = /^([a-z]+)(?::([0-9]+))?@([^+]+)(?:\+(.+))?$/.exec(spec.trim());
  if (!m) throw new TonewallError('SIM_FAULT', `fault "${spec}" is not KIND[:SPAN]@START[+DURATION] (e.g. los@10s+5s)`);
  const kind = m[1] as FaultKind;
  if (!FAULT_KINDS.includes(kind)) throw new TonewallError('SIM_FAULT', `fault "${spec}": kind "${kind}" is not one of ${FAULT_KINDS.join(', ')}`);
  const span = m[2] !== undefined ? Number(m[2]) : 1;
  if (!(span >= 1 && span <= 8)) throw new TonewallError('SIM_FAULT', `fault "${spec}": span ${span} is not 1..8`);
  return { kind, span, atMs: ms(m[3] ?? '', spec), durationMs: m[4] !== undefined ? ms(m[4], spec) : undefined };
}

const ALARM: Partial<Record<FaultKind, SpanAlarm>> = { los: 'LOS', lof: 'LOF', ais: 'AIS', rai: 'RAI' };

/** Applies a fault now; returns how to clear it, if it is one that clears. */
export function applyFault(card: SimCard, f: FaultSpec): (() => void) | undefined {
  const alarm = ALARM[f.kind];
  if (alarm) {
    card.setSpanAlarms(f.span, [alarm]);
    return () => card.setSpanAlarms(f.span, []);
  }
  switch (f.kind) {
    case 'dchan':
      card.setDchannelCut(f.span, true);
      return () => card.setDchannelCut(f.span, false);
    case 'crc':
      card.injectSpanErrors(f.span, { crcErrors: 100 });
      card.reportCounters();
      return undefined;
    case 'slip':
      card.injectSpanErrors(f.span, { slips: 1 });
      card.reportCounters();
      return undefined;
    case 'garbage':
      card.injectGarbage(Uint8Array.from({ length: 64 }, (_, i) => (i * 73 + 41) & 0xff));
      return undefined;
    default:
      card.resetCard();
      return undefined;
  }
}

/** Runs a list of faults on the card's clock; `stop()` cancels what has not run yet. */
export class FaultPlan {
  private readonly timers: TimerHandle[] = [];

  constructor(
    private readonly card: SimCard,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly specs: readonly FaultSpec[],
  ) {}

  start(): void {
    for (const f of this.specs) {
      this.timers.push(
        this.clock.setTimeout(() => {
          this.log.warn('fault injected', { kind: f.kind, span: f.span });
          let clear: (() => void) | undefined;
          try {
            clear = applyFault(this.card, f);
          } catch (err) {
            this.log.error('fault not applied', { kind: f.kind, span: f.span, error: errorMessage(err) });
            return;
          }
          if (clear && f.durationMs !== undefined) {
            const undo = clear;
            this.timers.push(
              this.clock.setTimeout(() => {
                this.log.warn('fault cleared', { kind: f.kind, span: f.span });
                undo();
              }, f.durationMs),
            );
          }
        }, f.atMs),
      );
    }
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
  }
}
