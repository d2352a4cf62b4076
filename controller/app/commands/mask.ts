/**
 * `tonewall mask IN OUT [--style flat|silence|noise] [--lookahead-ms N]`
 *
 * Masks DTMF in recordings exactly as the live uplink would in a secure session (same code path:
 * controller/dsp/offline-mask.ts → UplinkDsp). IN and OUT are WAV files (8 kHz mono, 16-bit PCM,
 * µ-law or A-law; OUT keeps IN's encoding) or directories (every .wav in IN, written under the same
 * name in OUT; one process for the whole directory). Prints one summary line per file; never a digit.
 * Exit codes: 0 done, 1 a file failed, 2 bad usage.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskRecording } from '../../dsp/offline-mask';
import { parseMaskStyle, type MaskStyle } from '../../dsp/replacement';
import { formatWav, parseWav } from '../../dsp/wav-codec';
import { errorMessage } from '../../../hw/base/errors';

const USAGE = 'usage: tonewall mask IN OUT [--style flat|silence|noise] [--lookahead-ms N]';

interface MaskArgs {
  input: string;
  output: string;
  style: MaskStyle;
  lookaheadMs: number | undefined;
}

function parseArgs(argv: string[]): MaskArgs {
  const positional: string[] = [];
  let style: MaskStyle = 'flat';
  let lookaheadMs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--style') style = parseMaskStyle(argv[++i] ?? '');
    else if (a.startsWith('--style=')) style = parseMaskStyle(a.slice(8));
    else if (a === '--lookahead-ms' || a.startsWith('--lookahead-ms=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[++i] ?? '');
      lookaheadMs = Number(v);
      if (v === '' || !Number.isFinite(lookaheadMs)) throw new Error(`--lookahead-ms "${v}" is not a number`);
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) throw new Error(`expected IN and OUT, got ${positional.length} argument(s)`);
  return { input: positional[0] as string, output: positional[1] as string, style, lookaheadMs };
}

/** (input file, output file) pairs: one for a file, every .wav for a directory. */
function plan(input: string, output: string): [string, string][] {
  if (!statSync(input).isDirectory()) return [[input, output]];
  if (existsSync(output) && !statSync(output).isDirectory()) throw new Error(`OUT ${output} is a file, expected a directory because IN is one`);
  mkdirSync(output, { recursive: true });
  return readdirSync(input)
    .filter((f) => f.toLowerCase().endsWith('.wav'))
    .sort()
    .map((f) => [join(input, f), join(output, f)]);
}

export async function run(argv: string[]): Promise<number> {
  let args: MaskArgs;
  let pairs: [string, string][];
  try {
    args = parseArgs(argv);
    pairs = plan(args.input, args.output);
  } catch (err) {
    console.error(`tonewall mask: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  let failed = 0;
  for (const [inPath, outPath] of pairs) {
    try {
      const audio = parseWav(readFileSync(inPath), inPath);
      const r = maskRecording(audio.samples, { style: args.style, lookaheadMs: args.lookaheadMs });
      writeFileSync(outPath, formatWav({ encoding: audio.encoding, samples: r.output }));
      const pct = audio.samples.length ? ((100 * r.maskedSamples) / audio.samples.length).toFixed(2) : '0.00';
      console.log(
        `${inPath} -> ${outPath}: ${audio.samples.length} samples (${audio.encoding}), ${r.maskedTones} tone(s) masked, ` +
          `${pct} % of audio replaced, latency ${r.latencySamples / 8} ms, output check ${r.outputDigits === 0 ? 'clean' : `FOUND ${r.outputDigits} digit(s)`}` +
          (r.faulted ? ', FAULTED (muted)' : ''),
      );
      if (r.outputDigits > 0 || r.faulted) failed++;
    } catch (err) {
      failed++;
      console.error(`tonewall mask: ${inPath}: ${errorMessage(err)}`);
    }
  }
  await Promise.resolve();
  return failed > 0 ? 1 : 0;
}
