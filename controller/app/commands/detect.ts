/**
 * `tonewall detect IN [--json]`
 *
 * Prints the DTMF digits the product's detector (controller/dsp/dtmf-detector.ts, ITU-T Q.24 rules)
 * finds in recordings, with start and end times in ms. IN is a WAV file (8 kHz mono, 16-bit PCM,
 * µ-law or A-law) or a directory (every .wav inside; one process). An audit tool for recordings:
 * it shows what a recording contains, so run it on audio that left the box (masked output must
 * show nothing), not on live payment audio. Exit codes: 0 done, 1 a file failed, 2 bad usage.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { detectDigits } from '../../dsp/dtmf-detector';
import { DTMF_DIGITS, SAMPLE_RATE } from '../../dsp/tone-generator';
import { parseWav } from '../../dsp/wav-codec';
import { errorMessage } from '../../../hw/base/errors';

const USAGE = 'usage: tonewall detect IN [--json]';

interface FileReport {
  file: string;
  durationMs: number;
  digits: { digit: string; startMs: number; endMs: number }[];
  error?: string;
}

function inputs(input: string): string[] {
  if (!statSync(input).isDirectory()) return [input];
  return readdirSync(input)
    .filter((f) => f.toLowerCase().endsWith('.wav'))
    .sort()
    .map((f) => join(input, f));
}

function toMs(samples: number): number {
  return Math.round((samples * 10000) / SAMPLE_RATE) / 10;
}

export async function run(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const unknown = rest.find((a) => a.startsWith('--'));
  if (unknown || rest.length !== 1) {
    console.error(`tonewall detect: ${unknown ? `unknown option ${unknown}` : `expected IN, got ${rest.length} argument(s)`}\n${USAGE}`);
    return 2;
  }
  let files: string[];
  try {
    files = inputs(rest[0] as string);
  } catch (err) {
    console.error(`tonewall detect: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  const reports: FileReport[] = [];
  for (const file of files) {
    try {
      const audio = parseWav(readFileSync(file), file);
      const digits = detectDigits(audio.samples).map((e) => ({
        digit: DTMF_DIGITS[e.code] ?? '?',
        startMs: toMs(e.startSample),
        endMs: toMs(e.endSample),
      }));
      reports.push({ file, durationMs: toMs(audio.samples.length), digits });
    } catch (err) {
      reports.push({ file, durationMs: 0, digits: [], error: errorMessage(err) });
    }
  }
  if (json) {
    console.log(JSON.stringify(reports, null, 2));
  } else {
    for (const r of reports) {
      if (r.error) {
        console.error(`tonewall detect: ${r.file}: ${r.error}`);
        continue;
      }
      console.log(`${r.file}: ${r.digits.length} digit(s) in ${r.durationMs} ms`);
      for (const d of r.digits) console.log(`  ${d.digit}  ${d.startMs.toFixed(1)} ms – ${d.endMs.toFixed(1)} ms`);
    }
  }
  await Promise.resolve();
  return reports.some((r) => r.error) ? 1 : 0;
}
