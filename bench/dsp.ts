/**
 * `npm run bench:dsp` (node dist/bench/dsp.js [seconds-per-case]): speed of the uplink DSP on one
 * core of this machine, against DESIGN.md §9's goal of ≥ 5,000 real-time channels per core for
 * detector + masker + G.711, and against SpanDSP's C detector (built by the interop harness) on the
 * same audio. Prints samples per second, the real-time factor, channels per core and the measured
 * masking lookahead latency.
 */
import { spawnSync } from 'node:child_process';
import { DtmfDetector } from '../controller/dsp/dtmf-detector';
import { UplinkDsp } from '../controller/dsp/uplink-dsp';
import { decode, encode } from '../controller/media/g711';
import type { DtmfDigit } from '../controller/dsp/tone-generator';
import { hasSpanDsp, spandspBench } from '../test/lib/dsp-peers';
import { addNoise, dtmfSequence, speechLike } from '../test/lib/dsp-signals';

const RATE = 8000;
const BLOCK = 160;
const seconds = Number(process.argv[2] ?? 2);

/** 12 s of speech-like audio with a 16-digit keypad burst in the middle, as µ-law from the card. */
function corpus(): Uint8Array {
  const speech = speechLike(12_000, 17);
  const keys = dtmfSequence(('0123456789*#ABCD'.split('') as DtmfDigit[]).map((digit) => ({ digit, durationMs: 80 })), 80).samples;
  const mixed = addNoise(speech, -50, 3);
  mixed.set(keys, 4 * RATE);
  return encode('ulaw', mixed);
}

/** Best of three trials of `seconds` / 3 each (the machine is shared: the best trial is the least disturbed). */
function measure(name: string, run: () => number): number {
  const t0 = performance.now();
  while (performance.now() - t0 < 300) run();
  let best = 0;
  for (let trial = 0; trial < 3; trial++) {
    let samples = 0;
    const t1 = performance.now();
    while (performance.now() - t1 < (seconds * 1000) / 3) samples += run();
    best = Math.max(best, samples / ((performance.now() - t1) / 1000));
  }
  const rtf = best / RATE;
  console.log(`${name.padEnd(58)} ${(best / 1e6).toFixed(2).padStart(7)} M samples/s   ${rtf.toFixed(0).padStart(6)} × real time   ${Math.floor(rtf).toString().padStart(6)} channels/core`);
  return best;
}

function chain(ulaw: Uint8Array, dsp: UplinkDsp | undefined, detector: DtmfDetector | undefined): () => number {
  const lin = new Int16Array(BLOCK);
  const out = new Int16Array(BLOCK);
  const enc = new Uint8Array(BLOCK);
  return () => {
    for (let i = 0; i + BLOCK <= ulaw.length; i += BLOCK) {
      decode('ulaw', ulaw.subarray(i, i + BLOCK), lin);
      if (dsp) dsp.process(lin, out);
      else if (detector) detector.process(lin);
      encode('ulaw', dsp ? out : lin, enc);
    }
    return ulaw.length - (ulaw.length % BLOCK);
  };
}

/** Lag of a click through the secure uplink, found in the output (not read from the object). */
function measuredLookaheadMs(lookaheadMs: number): number {
  const dsp = new UplinkDsp({ lookaheadMs, style: 'silence' });
  dsp.enterSecure();
  const input = new Int16Array(RATE);
  input[4000] = 20000;
  const output = new Int16Array(RATE);
  for (let i = 0; i < input.length; i += BLOCK) dsp.process(input.subarray(i, i + BLOCK), output.subarray(i, i + BLOCK));
  let peak = 0;
  for (let i = 1; i < output.length; i++) if (Math.abs(output[i] as number) > Math.abs(output[peak] as number)) peak = i;
  return ((peak - 4000) * 1000) / RATE;
}

type CaseName = 'g711' | 'detector' | 'normal' | 'strip' | 'secure' | 'secure-verified' | 'detector-alone';

const CASES: Record<CaseName, string> = {
  g711: 'G.711 decode + encode only',
  detector: 'detector + G.711 (normal mode: transparent, no delay)',
  normal: 'UplinkDsp normal mode + G.711',
  strip: 'detector + masker (strip-always, no notch) + G.711',
  secure: 'detector + masker + notch bank (secure) + G.711',
  'secure-verified': '  same + independent output check (secure default)',
  'detector-alone': 'our detector alone (no G.711)',
};

/** One case in this process (a fresh one per case, so no case's JIT state disturbs another's). */
function runCase(name: CaseName): number {
  const ulaw = corpus();
  const linear = decode('ulaw', ulaw);
  switch (name) {
    case 'g711':
      return measure(CASES[name], chain(ulaw, undefined, undefined));
    case 'detector':
      return measure(CASES[name], chain(ulaw, undefined, new DtmfDetector({ onDigit: () => undefined })));
    case 'normal':
      return measure(CASES[name], chain(ulaw, new UplinkDsp({ onDigit: () => undefined }), undefined));
    case 'strip':
      return measure(CASES[name], chain(ulaw, new UplinkDsp({ policy: 'strip-always', verifyOutput: false }), undefined));
    case 'secure':
    case 'secure-verified': {
      const dsp = new UplinkDsp({ verifyOutput: name === 'secure-verified' });
      dsp.enterSecure();
      return measure(CASES[name], chain(ulaw, dsp, undefined));
    }
    case 'detector-alone':
      return measure(CASES[name], () => {
        const d = new DtmfDetector({ onDigit: () => undefined });
        for (let i = 0; i + BLOCK <= linear.length; i += BLOCK) d.process(linear.subarray(i, i + BLOCK));
        return linear.length - (linear.length % BLOCK);
      });
  }
}

function inChild(name: CaseName): number {
  const r = spawnSync(process.execPath, [__filename, String(seconds), '--case', name], { encoding: 'utf8' });
  process.stdout.write(r.stdout.split('\n').filter((l) => !l.startsWith('{')).join('\n'));
  const m = /\{"perSecond":([0-9.]+)\}/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`bench case ${name} failed: ${r.stderr}`);
  return Number(m[1]);
}

function main(): void {
  const caseIndex = process.argv.indexOf('--case');
  if (caseIndex > 0) {
    const perSecond = runCase(process.argv[caseIndex + 1] as CaseName);
    console.log(JSON.stringify({ perSecond }));
    return;
  }
  console.log(`tonewall DSP benchmark: one core, each case in a fresh process, best of 3 trials in ${seconds} s, 20 ms blocks, µ-law in and out, Node ${process.version}`);
  for (const name of ['g711', 'detector', 'normal', 'strip'] as CaseName[]) inChild(name);
  const core = inChild('secure');
  inChild('secure-verified');
  console.log(`goal (DESIGN.md §9): 5000 channels/core for detector + masker + G.711; secure chain reaches ${Math.floor(core / RATE)} (${((100 * core) / RATE / 5000).toFixed(0)} % of goal)`);
  for (const la of [20, 10]) console.log(`measured masking lookahead (lookahead ${la} ms): ${measuredLookaheadMs(la).toFixed(2)} ms added latency`);
  if (hasSpanDsp()) {
    const ours = inChild('detector-alone');
    const theirs = spandspBench(decode('ulaw', corpus()), seconds);
    console.log(`${'SpanDSP dtmf_rx (C, -O2) on the same audio'.padEnd(58)} ${(theirs / 1e6).toFixed(2).padStart(7)} M samples/s   ${(theirs / RATE).toFixed(0).padStart(6)} × real time   ${Math.floor(theirs / RATE).toString().padStart(6)} channels/core`);
    console.log(`our detector / SpanDSP detector: ${(ours / theirs).toFixed(2)}; our secure chain / SpanDSP detector alone: ${(core / theirs).toFixed(2)}`);
  } else {
    console.log('SpanDSP not available (libspandsp-dev, gcc, pkg-config): no reference figure');
  }
}

main();
