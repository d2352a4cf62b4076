/**
 * The simulated card for `npm run bench:sip`, as its own process (so the appliance's CPU figures
 * hold the appliance only): the e1-pri-4 model (4 E1 PRI spans, 120 B channels) behind a pty, its
 * network side answering every outward call after `answerAfterMs` with speech for the whole call.
 *
 * Started by bench/sip.ts with `fork(dist/bench/sip-sim.js, [JSON options])`. IPC:
 *   child → parent  { type: 'ready', ptyPath }                 once the simulator listens
 *                   { type: 'spans', up: number }              answer to 'spans': spans whose D channel is up
 *                   { type: 'stats', stats }                   answer to 'stats': the card's PCM counters and this
 *                                                              process's event-loop delay (ms) since the last reset
 *                   { type: 'placed', placed, refused }        answer to 'place', once every call was started
 *   parent → child  { type: 'spans' } | { type: 'stats', reset? } | { type: 'stop' }
 *                   { type: 'place', count, ratePerS, holdMs }  PSTN → SIP calls, round robin over the spans
 */
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger, jsonSink } from '../hw/base/logger';
import { runSimulator } from '../hw/sim/run-simulator';

export interface BenchSimOptions {
  dir: string;
  model: string;
  spans: number;
  answerAfterMs: number;
  /** Callee speech per call, ms (the callee stays on the line after it, silent, until the host hangs up). */
  speechMs: number;
  /** Make the pty (socat) in front of the socket; without it the appliance connects to the socket. */
  pty: boolean;
}

export type BenchSimMessage =
  | { type: 'ready'; ptyPath: string }
  | { type: 'spans'; up: number }
  | { type: 'stats'; stats: Record<string, number> }
  | { type: 'placed'; placed: number; refused: number };

export interface PlaceCommand {
  type: 'place';
  count: number;
  ratePerS: number;
  /** The caller talks this long after the answer, then hangs up. */
  holdMs: number;
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as BenchSimOptions;
  const log = createLogger({ level: 'warn', sinks: [jsonSink(process.stderr)] });
  const sim = await runSimulator({
    listen: `unix:${join(opts.dir, 'card-sim.sock')}`,
    ...(opts.pty ? { pty: join(opts.dir, 'card-pty') } : {}),
    script: 'none',
    log,
    card: { model: opts.model, seed: 4, callee: { answerAfterMs: opts.answerAfterMs, audio: [{ speech: opts.speechMs }], hangup: 'wait-for-host' } },
  });
  // A late event loop here is a late TDM tick: its ticks then run back to back (tdm-clock.ts), which
  // shows downstream as RTP send jitter that the appliance did not add.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const send = (m: BenchSimMessage): void => {
    process.send?.(m);
  };
  const place = (c: PlaceCommand): void => {
    let placed = 0;
    let refused = 0;
    for (let i = 0; i < c.count; i++) {
      setTimeout(() => {
        try {
          sim.card.placeCall({ span: (i % opts.spans) + 1, called: '8000', callerNumber: '5551234', audio: [{ speech: c.holdMs }], hangup: 'caller' });
          placed++;
        } catch {
          refused++;
        }
        if (placed + refused === c.count) send({ type: 'placed', placed, refused });
      }, (i * 1000) / c.ratePerS);
    }
  };
  process.on('message', (m: { type: string; reset?: boolean } | PlaceCommand) => {
    if (m.type === 'place' && 'count' in m) place(m);
    else if (m.type === 'spans') {
      let up = 0;
      for (let s = 1; s <= opts.spans; s++) if (sim.card.isPortIdle(s)) up++;
      send({ type: 'spans', up });
    } else if (m.type === 'stats') {
      const ms = (ns: number): number => ns / 1e6;
      send({ type: 'stats', stats: { ...sim.card.stats, loopDelayP50Ms: ms(loopDelay.percentile(50)), loopDelayP99Ms: ms(loopDelay.percentile(99)), loopDelayMaxMs: ms(loopDelay.max) } });
      if ('reset' in m && m.reset === true) loopDelay.reset();
    } else if (m.type === 'stop') {
      void sim.stop().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => void sim.stop().then(() => process.exit(0)));
  send({ type: 'ready', ptyPath: sim.ptyPath ?? '' });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
