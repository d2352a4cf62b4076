/**
 * The call script: what the simulated PSTN does on one call. TypeScript objects for tests and the
 * app; the same shape loads from JSON for `tonewall sim` (validated by `callScriptFileSchema`, every
 * problem reported with its path).
 *
 * Keypress digits in a script are test data standing in for card numbers: they are never logged
 * (only counts are), never put in an error message and never emitted in an event.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SeededRandom } from './seeded-random';
import { TonewallError } from '../base/errors';

/** Ring cadences as alternating on/off durations in ms; one pass of the list is one "ring". */
export const RING_CADENCES = {
  /** North America (Telcordia GR-506): 2 s on, 4 s off. */
  us: [2000, 4000],
  /** UK (BT SIN 350): 0.4 on, 0.2 off, 0.4 on, 2 s off. */
  uk: [400, 200, 400, 2000],
} as const satisfies Record<string, readonly number[]>;

export type RingCadenceName = keyof typeof RING_CADENCES;

const digits = z.string().regex(/^[0-9*#A-D]{1,64}$/, 'expected 1–64 DTMF digits (0-9 * # A-D)');

export const audioItemSchema = z.union([
  z.object({ speech: z.number().int().min(10).max(600_000) }).strict(),
  z
    .object({
      keys: digits,
      /** Tone length per key, ms; omitted: random 60–120 ms per key (human timing). */
      toneMs: z.number().int().min(10).max(2000).optional(),
      /** Gap after each key, ms; omitted: random 150–600 ms per key. */
      gapMs: z.number().int().min(0).max(10_000).optional(),
    })
    .strict(),
  z.object({ silence: z.number().int().min(10).max(600_000) }).strict(),
  z.object({ wav: z.string().min(1) }).strict(),
]);

export type AudioItem = z.infer<typeof audioItemSchema>;

const cadence = z.union([
  z.enum(['us', 'uk']),
  z
    .array(z.number().int().min(10).max(10_000))
    .min(2)
    .refine((a) => a.length % 2 === 0, 'expected an even number of on/off durations'),
]);

export const callScriptSchema = z
  .object({
    /** Analog card: the port the call rings on (default 1). */
    port: z.number().int().min(1).max(64).default(1),
    /** PRI card: the span the SETUP goes out on (default 1). */
    span: z.number().int().min(1).max(8).optional(),
    /** PRI card: the called party number in the SETUP (the number the caller dialled). */
    called: z.string().regex(/^[0-9]{0,20}$/, 'expected up to 20 digits').optional(),
    callerNumber: z.string().regex(/^\+?[0-9]{0,20}$/, 'expected up to 20 digits, optionally with a leading +'),
    callerName: z.string().max(15).default(''),
    ringCadence: cadence.default('us'),
    /** The caller gives up after this many rings without an answer. */
    answerTimeoutRings: z.number().int().min(1).max(50).default(6),
    audio: z.array(audioItemSchema).default([]),
    /** Hang up this long after the answer, whatever audio is left. Overrides `hangup`. */
    hangupAfterMs: z.number().int().min(0).optional(),
    /** After the audio: 'caller' hangs up, 'wait-for-host' stays on the line (silent) until the host hangs up. */
    hangup: z.enum(['caller', 'wait-for-host']).default('caller'),
    /** When the call starts, ms after the script starts (script files). */
    atMs: z.number().int().min(0).default(0),
    /** Seed of the caller's randomness (speech, key timing); omitted: derived from the port and start time. */
    seed: z.number().int().optional(),
    /**
     * Analog card, port configured for caller ID in the audio (port-config in-audio): the FSK standard
     * (Bell 202 for North America, V.23 for ETSI countries) and message format the exchange sends.
     */
    callerIdFsk: z.enum(['bell202', 'v23']).default('bell202'),
    callerIdFormat: z.enum(['sdmf', 'mdmf']).default('mdmf'),
    /** 'after-first-ring' (Telcordia GR-30, between the first and second ring) or 'before-first-ring' (ETSI EN 300 659-1 §6.1). */
    callerIdTiming: z.enum(['after-first-ring', 'before-first-ring']).default('after-first-ring'),
    /** Date and time in the caller ID message, MMDDHHMM. */
    callerIdDateTime: z.string().regex(/^(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9]$/, 'expected MMDDHHMM').default('01010000'),
  })
  .strict();

export type CallScriptInput = z.input<typeof callScriptSchema>;
export type CallScript = z.infer<typeof callScriptSchema>;

export const callScriptFileSchema = z.union([z.array(callScriptSchema), z.object({ calls: z.array(callScriptSchema) }).strict()]);

/** Validates and fills defaults; throws one error listing every problem (without echoing values). */
export function parseCallScript(input: unknown, source = 'call script'): CallScript {
  const r = callScriptSchema.safeParse(input);
  if (!r.success) throw scriptError(source, r.error);
  return r.data;
}

export function parseCallScriptFile(input: unknown, source: string): CallScript[] {
  const r = callScriptFileSchema.safeParse(input);
  if (!r.success) throw scriptError(source, r.error);
  return Array.isArray(r.data) ? r.data : r.data.calls;
}

export function loadCallScriptFile(path: string): CallScript[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TonewallError('SIM_SCRIPT_INVALID', `${path}: cannot read a JSON call script (${err instanceof Error ? err.message : 'unknown error'})`);
  }
  return parseCallScriptFile(json, path);
}

function scriptError(source: string, error: z.ZodError): TonewallError {
  // Issue messages name the rule, never the value, so key digits cannot leak into the text.
  const lines = error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return new TonewallError('SIM_SCRIPT_INVALID', `${source}: ${lines.join('; ')}`);
}

/** The on/off durations (ms) of a script's cadence. */
export function cadenceMs(c: CallScript['ringCadence']): readonly number[] {
  return typeof c === 'string' ? RING_CADENCES[c] : c;
}

export interface DemoOptions {
  ports: readonly number[];
  /** Talk time of each call, roughly (speech before and after the keypresses). */
  callDurationMs: number;
  callerNumber: string;
  callerName: string;
  /** Digits the demo caller keys (a test card, expiry and code); never logged. */
  keys?: string;
}

/**
 * What the demo caller keys when no keys are given: a card number made up for this call (Luhn-valid,
 * Visa-shaped, from the call's seed, so no fixed card number lives in the code), an expiry two years
 * ahead and a security code, each ended with `#`. These are the caller's keypresses: the simulator
 * plays the cardholder, so it holds them as text; the appliance never does.
 */
export function demoCardKeys(seed: number, nowMs: number): string {
  const rng = new SeededRandom(seed);
  const digits = [4];
  while (digits.length < 15) digits.push(rng.intBetween(0, 9));
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits[i] ?? 0;
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  digits.push((10 - (sum % 10)) % 10);
  const year = (new Date(nowMs).getUTCFullYear() + 2) % 100;
  const month = rng.intBetween(1, 12);
  const expiry = `${String(month).padStart(2, '0')}${String(year).padStart(2, '0')}`;
  const code = String(rng.intBetween(0, 999)).padStart(3, '0');
  return `${digits.join('')}#${expiry}#${code}#`;
}

/** The `demo` script: call `index` on the next port in turn, with talk, keypresses and a hang-up. */
export function demoCall(index: number, opts: DemoOptions): CallScript {
  const port = opts.ports[index % opts.ports.length] ?? 1;
  const talkMs = Math.max(1000, Math.round(opts.callDurationMs / 2));
  return parseCallScript(
    {
      port,
      callerNumber: opts.callerNumber,
      callerName: opts.callerName,
      ringCadence: 'us',
      answerTimeoutRings: 5,
      audio: [{ speech: talkMs }, { keys: opts.keys ?? demoCardKeys(1000 + index, Date.now()) }, { speech: talkMs }],
      hangup: 'caller',
      seed: 1000 + index,
    },
    'demo script',
  );
}
