/**
 * Builders for the simulator's unit tests: a PstnCall from a partial script, run for N ticks while
 * collecting its line events with their sample positions.
 */
import type { LineEvent } from '../../hw/card/types';
import { parseCallScript, type CallScriptInput } from '../../hw/sim/call-script';
import { PstnCall, type DisconnectSupervision } from '../../hw/sim/pstn-call';
import { SeededRandom } from '../../hw/sim/seeded-random';

export function makeInboundCall(script: Partial<CallScriptInput> = {}, supervision: DisconnectSupervision = 'loop-current-drop'): PstnCall {
  return new PstnCall({
    id: 1,
    port: script.port ?? 2,
    direction: 'inbound',
    script: parseCallScript({ port: 2, callerNumber: '5551234567', callerName: 'ALICE', ...script }),
    supervision,
    law: 'ulaw',
    rng: new SeededRandom(script.seed ?? 42),
    loadWav: () => {
      throw new Error('no wav in unit tests');
    },
  });
}

/** Runs `ticks` ticks; returns the events with the sample index of the tick that produced them. */
export function runTicks(call: PstnCall, ticks: number): { sample: number; event: LineEvent; pcm: boolean }[] {
  const out: { sample: number; event: LineEvent; pcm: boolean }[] = [];
  for (let i = 0; i < ticks; i++) {
    const sample = call.samples;
    const r = call.tick();
    for (const event of r.events) out.push({ sample, event, pcm: r.pcm !== undefined });
  }
  return out;
}
