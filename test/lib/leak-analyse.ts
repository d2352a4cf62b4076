/**
 * The verdict of a leak run (issue #6, docs/leak-test.md): every artifact scanned for every canary
 * by the three rules of leak-scan.ts, the uplink audio run through SpanDSP and multimon-ng
 * (leak-rtp.ts), and every payment checked against what its caller keyed.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { canaryKeys, type LeakCanary } from './leak-canaries';
import { buildNeedles, countShortTokens, excessOverChance, jsonLineStrings, jsonStrings, LeakScanner, ValueScanner, type ChanceCount, type LeakHit } from './leak-scan';
import { detectInStreams, digitRunHits, rtpStreamsTo, type DigitRunHit } from './leak-rtp';
import type { RecordedMessage } from './leak-agent';
import type { RunArtifacts } from './leak-run';

export interface ArtifactFigure {
  name: string;
  bytes: number;
  hits: number;
  /** Rule 3 over this artifact's text (text artifacts only). */
  chance?: ChanceCount & { failed: boolean };
}

export interface PaymentProblem {
  canary: number | undefined;
  callId: string | undefined;
  problem: string;
}

export interface LeakReport {
  payments: number;
  approved: number;
  problems: PaymentProblem[];
  /** Masked tones reported beyond the keys pressed, summed over the sessions. */
  maskedTonesBeyondKeys: number;
  /** The agent's call.hangup requests that got no `ok` reply in time (the calls ended nonetheless). */
  hangupFailures: string[];
  /** Answer → session start (appliance clock), ms, over the sessions: the agent's round trip. */
  startLatencyMs: { p50: number; p95: number; max: number; late: number };
  artifacts: ArtifactFigure[];
  hits: LeakHit[];
  /** Rule 2 run with the decoys: hits here show how noisy the rule is (expected 0). */
  decoyValueHits: number;
  /** Rule 3 summed over the text artifacts; `failed` when any one artifact is above chance. */
  chance: ChanceCount & { failed: boolean };
  audio: { streams: number; minSecondsPerCall: number; totalSeconds: number; digitsSpanDsp: number; digitsMultimon: number; rfc4733Events: number; runHits: DigitRunHit[] };
  mqtt: { messages: number; retained: number; payEvents: number };
  guardRefusalsLogged: number;
  applianceExitCode: number | null;
  wallMs: number;
  paymentsPerMinute: number;
  analysisMs: number;
}

/** MQTT messages as one byte artifact: `topic\n payload\n` each, and their strings for rule 2. */
function mqttArtifact(messages: readonly RecordedMessage[]): { bytes: Buffer; strings: string[] } {
  const parts: Buffer[] = [];
  const strings: string[] = [];
  for (const m of messages) {
    parts.push(Buffer.from(m.topic + '\n', 'utf8'), m.payload, Buffer.from('\n'));
    strings.push(m.topic);
    try {
      strings.push(...jsonStrings(JSON.parse(m.payload.toString('utf8'))));
    } catch {
      strings.push(m.payload.toString('utf8'));
    }
  }
  return { bytes: Buffer.concat(parts), strings };
}

/** Every row of every table of a database copy, as strings (JSON columns walked too). */
function dumpDatabase(dbFile: string, workDir: string): string[] {
  // Opened on a further copy: opening replays the WAL and would change the scanned files.
  mkdirSync(workDir, { recursive: true });
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      copyFileSync(dbFile + suffix, join(workDir, basename(dbFile) + suffix));
    } catch {
      // -wal/-shm may not exist (after a clean close)
    }
  }
  const db = new Database(join(workDir, basename(dbFile)));
  const out: string[] = [];
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
        for (const v of Object.values(row)) {
          if (typeof v !== 'string') continue;
          out.push(v);
          if (v.startsWith('{') || v.startsWith('[')) {
            try {
              out.push(...jsonStrings(JSON.parse(v)));
            } catch {
              // not JSON after all
            }
          }
        }
      }
    }
  } finally {
    db.close();
  }
  return out;
}

/** The byte range of the snapshot's `"strings"` section (V8 writes it last). */
function heapStringsOffset(buf: Buffer): number {
  const at = buf.lastIndexOf('"strings":[');
  return at < 0 ? 0 : at;
}

/** Checks each canary's payment: one approved session, its last four, a clean masking record, a timely start. */
function checkPayments(run: RunArtifacts, speechMs: number): { approved: number; problems: PaymentProblem[]; maskedExcess: number; latencies: number[]; late: number; hangupFailures: string[] } {
  const problems: PaymentProblem[] = [];
  const hangupFailures: string[] = [];
  const latencies: number[] = [];
  let late = 0;
  let maskedExcess = 0;
  const byLast4 = new Map(run.canaries.canaries.map((c) => [c.pan.slice(12), c]));
  const approvedFor = new Set<number>();
  for (const call of run.agent.calls.values()) {
    const e = call.ended;
    if (call.payStartError || call.payStart?.status !== 'ok') {
      problems.push({ canary: undefined, callId: call.callId, problem: `pay.start failed: ${call.payStartError ?? JSON.stringify(call.payStart?.error)}` });
      continue;
    }
    if (!e) {
      problems.push({ canary: undefined, callId: call.callId, problem: 'no pay.ended' });
      continue;
    }
    const startedAt = e['startedAt'];
    const lateMs = typeof startedAt === 'number' && call.answeredAt !== undefined ? startedAt - call.answeredAt : 0;
    latencies.push(lateMs);
    if (lateMs > speechMs - 300) {
      late++;
      problems.push({ canary: undefined, callId: call.callId, problem: `session started ${lateMs} ms after the answer: the caller's keys (after ${speechMs} ms of talk) may have come first and gone out unmasked, as they do outside a session` });
    }
    const result = e['result'] as { last4?: string; masking?: { clean?: boolean; maskedTones?: number; secondCheck?: { digitsFound?: number } } } | undefined;
    const canary = result?.last4 ? byLast4.get(result.last4) : undefined;
    if (e['state'] !== 'approved' || !canary) {
      problems.push({ canary: canary?.index, callId: call.callId, problem: `session ended ${String(e['state'])} (${JSON.stringify(e['result'])})` });
      continue;
    }
    if (approvedFor.has(canary.index)) problems.push({ canary: canary.index, callId: call.callId, problem: 'a second approved session for this canary' });
    approvedFor.add(canary.index);
    const keyed = canaryKeys(canary).length;
    // maskedTones counts masked stretches: a key can make more than one (a tone whose detection
    // flickers), so at least one per key is the contract; the excess is reported as a figure.
    const masked = result?.masking?.maskedTones ?? 0;
    maskedExcess += Math.max(0, masked - keyed);
    if (result?.masking?.clean !== true || masked < keyed || result.masking.secondCheck?.digitsFound !== 0) {
      problems.push({ canary: canary.index, callId: call.callId, problem: `masking record ${JSON.stringify(result?.masking)} (expected clean, ≥ ${keyed} masked tones, 0 digits in the second check)` });
    }
    // The agent's call.hangup is not part of the payment: a late or failed reply is a figure; a call
    // that never ended is a problem.
    if (call.hangupError || call.hangup?.status !== 'ok') hangupFailures.push(call.hangupError ?? JSON.stringify(call.hangup?.error));
    if (!call.callEnded) problems.push({ canary: canary.index, callId: call.callId, problem: `no call.ended event (call.hangup: ${call.hangupError ?? call.hangup?.status ?? 'not sent'})` });
  }
  for (const c of run.canaries.canaries) if (!approvedFor.has(c.index)) problems.push({ canary: c.index, callId: undefined, problem: 'no approved payment for this canary' });
  return { approved: approvedFor.size, problems, maskedExcess, latencies, late, hangupFailures };
}

export interface AnalyseOptions {
  speechMs: number;
  progress?: (line: string) => void;
}

export type ArtifactKind = RunArtifacts['files'][number]['kind'] | 'mqtt';

/**
 * Rules 1–3 over one artifact at a time (the run's files and the positive controls use the same
 * path): byte needles over the raw bytes (a heap snapshot's short needles only in its strings
 * section, where numbers are not noise), rule 2 over structured strings, rule 3 counts.
 */
export class ArtifactScanner {
  readonly hits: LeakHit[] = [];
  readonly artifacts: ArtifactFigure[] = [];
  readonly chance: ChanceCount & { failed: boolean } = { canary: 0, decoy: 0, failed: false };
  decoyValueHits = 0;
  guardRefusalsLogged = 0;
  private readonly bytes: LeakScanner;
  private readonly panOnly: LeakScanner;
  private readonly noShortUtf16: LeakScanner;
  private readonly values: ValueScanner;
  private readonly decoyValues: ValueScanner;

  constructor(
    private readonly set: RunArtifacts['canaries'],
    private readonly workDir: string,
  ) {
    const needles = buildNeedles(set.canaries);
    this.bytes = new LeakScanner(needles);
    this.panOnly = new LeakScanner(needles.filter((n) => n.field === 'pan'));
    this.noShortUtf16 = new LeakScanner(needles.filter((n) => !((n.field === 'expiry' || n.field === 'cvv') && n.form === 'utf16')));
    this.values = new ValueScanner(set.canaries);
    this.decoyValues = new ValueScanner(set.decoys);
  }

  /** Scans one artifact; returns its hits (also kept in `hits`, with a figure in `artifacts`). */
  scan(name: string, kind: ArtifactKind, buf: Buffer, strings?: readonly string[]): LeakHit[] {
    const strOffset = kind === 'heap' ? heapStringsOffset(buf) : 0;
    // The -shm file (SQLite's WAL index) holds no text: its hash slots are 16-bit page numbers, so
    // "2\0 6\0 9\0" there is three page numbers, not a UTF-16 "269".
    const h =
      kind === 'heap' ? [...this.panOnly.scan(name, buf.subarray(0, strOffset)), ...this.bytes.scan(name, buf, strOffset)] : kind === 'shm' ? this.noShortUtf16.scan(name, buf) : this.bytes.scan(name, buf);
    let texts: readonly string[] | undefined = strings;
    let chance: (ChanceCount & { failed: boolean }) | undefined;
    if (kind === 'log' || kind === 'stdio') {
      const text = buf.toString('utf8');
      texts = [...jsonLineStrings(text)];
      chance = this.countChance(text);
      if (kind === 'log') this.guardRefusalsLogged += text.split('\n').filter((l) => l.includes('log record dropped')).length;
    } else if (kind === 'sip') {
      chance = this.countChance(buf.toString('utf8'));
    }
    if (texts) {
      h.push(...this.values.scanStrings(name, texts));
      this.decoyValueHits += this.decoyValues.scanStrings(name, texts).length;
      if (kind !== 'log' && kind !== 'stdio') chance = this.countChance(texts.join('\n'));
    }
    this.hits.push(...h);
    this.artifacts.push({ name, bytes: buf.length, hits: h.length, ...(chance ? { chance } : {}) });
    return h;
  }

  scanFile(name: string, kind: ArtifactKind, path: string): LeakHit[] {
    const buf = readFileSync(path);
    // A database's rows (rules 2 and 3) from a copy opened with its -wal beside it; -wal and -shm
    // files on their own are raw bytes only.
    if (kind === 'db' && !path.endsWith('-wal') && !path.endsWith('-shm')) {
      return this.scan(name, kind, buf, dumpDatabase(path, join(this.workDir, 'db-dump', basename(dirname(path)))));
    }
    return this.scan(name, kind, buf);
  }

  scanMessages(name: string, messages: readonly RecordedMessage[]): LeakHit[] {
    const m = mqttArtifact(messages);
    writeFileSync(join(this.workDir, name.replace(/[^a-z]+/g, '-') + '.bin'), m.bytes);
    return this.scan(name, 'mqtt', m.bytes, m.strings);
  }

  private countChance(text: string): ChanceCount & { failed: boolean } {
    const c = countShortTokens(text, this.set.canaries, this.set.decoys);
    const failed = excessOverChance(c);
    this.chance.canary += c.canary;
    this.chance.decoy += c.decoy;
    this.chance.failed ||= failed;
    return { ...c, failed };
  }
}

export function analyseRun(run: RunArtifacts, o: AnalyseOptions): LeakReport {
  const t0 = Date.now();
  const say = o.progress ?? (() => undefined);
  const canaries: readonly LeakCanary[] = run.canaries.canaries;
  const scan = new ArtifactScanner(run.canaries, run.dir);
  for (const f of run.files) {
    say(`  scanning ${f.name} (${statSync(f.path).size} bytes)`);
    scan.scanFile(f.name, f.kind, f.path);
  }
  scan.scanMessages('mqtt messages (recorder on #)', run.messages);
  scan.scanMessages('mqtt retained at the end', run.retained);
  say('  RTP: streams to the contact center → sox → SpanDSP, multimon-ng');
  const pcap = run.files.find((f) => f.kind === 'pcap');
  const streams = pcap ? rtpStreamsTo(pcap.path, run.sippMediaPort) : [];
  const wavDir = join(run.dir, 'wav');
  mkdirSync(wavDir, { recursive: true });
  const verdicts = detectInStreams(streams, wavDir);
  const keyed = canaries.map((c) => ({ index: c.index, keys: canaryKeys(c) }));
  const runHits = verdicts.flatMap((v) => [...digitRunHits(`spandsp ${v.ssrc}`, v.spandsp, keyed), ...digitRunHits(`multimon-ng ${v.ssrc}`, v.multimon, keyed), ...digitRunHits(`rfc4733 ${v.ssrc}`, v.events, keyed)]);
  const payments = checkPayments(run, o.speechMs);
  const wallMs = run.endedMs - run.startedMs;
  return {
    payments: canaries.length,
    approved: payments.approved,
    problems: payments.problems,
    maskedTonesBeyondKeys: payments.maskedExcess,
    hangupFailures: payments.hangupFailures,
    startLatencyMs: { ...percentiles(payments.latencies), late: payments.late },
    artifacts: scan.artifacts,
    hits: scan.hits,
    decoyValueHits: scan.decoyValueHits,
    chance: { ...scan.chance },
    audio: {
      streams: verdicts.length,
      minSecondsPerCall: verdicts.length ? Math.min(...verdicts.map((v) => v.seconds)) : 0,
      totalSeconds: verdicts.reduce((s, v) => s + v.seconds, 0),
      digitsSpanDsp: verdicts.reduce((s, v) => s + v.spandsp.length, 0),
      digitsMultimon: verdicts.reduce((s, v) => s + v.multimon.length, 0),
      rfc4733Events: verdicts.reduce((s, v) => s + v.events.length, 0),
      runHits,
    },
    mqtt: { messages: run.messages.length, retained: run.retained.length, payEvents: run.messages.filter((m) => m.topic.endsWith('/events/pay')).length },
    guardRefusalsLogged: scan.guardRefusalsLogged,
    applianceExitCode: run.applianceExitCode,
    wallMs,
    paymentsPerMinute: payments.approved / (wallMs / 60_000),
    analysisMs: Date.now() - t0,
  };
}

function percentiles(values: readonly number[]): { p50: number; p95: number; max: number } {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number): number => v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), max: v.at(-1) ?? 0 };
}

/** True when the run found no leak and every payment went as expected. */
export function reportPassed(r: LeakReport): boolean {
  return r.hits.length === 0 && r.audio.runHits.length === 0 && !r.chance.failed && r.problems.length === 0 && r.approved === r.payments && r.applianceExitCode === 0;
}

/** The report as text lines (no canary values: hits name the canary index, field, form and offset). */
export function formatReport(r: LeakReport): string[] {
  const kb = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
  const lines = [
    `payments: ${r.approved}/${r.payments} approved; ${r.problems.length} problems; masked tones beyond keys pressed: ${r.maskedTonesBeyondKeys}; wall ${(r.wallMs / 1000).toFixed(1)} s (${r.paymentsPerMinute.toFixed(1)} payments/min); analysis ${(r.analysisMs / 1000).toFixed(1)} s`,
    `agent's pay.start, answer → session start: p50 ${r.startLatencyMs.p50} ms, p95 ${r.startLatencyMs.p95} ms, max ${r.startLatencyMs.max} ms; ${r.startLatencyMs.late} started after the caller's talk (keys before the session go out as keyed, by design)`,
    `call.hangup rpc without an ok reply in time: ${r.hangupFailures.length}${r.hangupFailures.length ? ` (${r.hangupFailures.slice(0, 3).join('; ')})` : ''}`,
    `artifacts scanned (${r.artifacts.length}, ${kb(r.artifacts.reduce((s, a) => s + a.bytes, 0))}):`,
    ...r.artifacts.map((a) => `  ${a.name.padEnd(40)} ${kb(a.bytes).padStart(11)}  hits ${a.hits}${a.chance ? `  (rule 3: canary ${a.chance.canary} / decoy ${a.chance.decoy}${a.chance.failed ? ' ABOVE CHANCE' : ''})` : ''}`),
    `RTP to the contact center: ${r.audio.streams} streams, ${r.audio.totalSeconds.toFixed(0)} s of audio (shortest ${r.audio.minSecondsPerCall.toFixed(1)} s); digits detected: SpanDSP ${r.audio.digitsSpanDsp}, multimon-ng ${r.audio.digitsMultimon}, RFC 4733 events ${r.audio.rfc4733Events}; canary digit runs ≥ 4: ${r.audio.runHits.length}`,
    `MQTT: ${r.mqtt.messages} messages recorded (${r.mqtt.payEvents} on events/pay), ${r.mqtt.retained} retained at the end`,
    `short values as tokens (rule 3, all text artifacts): canaries ${r.chance.canary}, decoys ${r.chance.decoy}${r.chance.failed ? ' — ABOVE CHANCE in an artifact' : ' (within chance in each)'}; rule 2 on decoys: ${r.decoyValueHits}`,
    `log records refused by the card guard: ${r.guardRefusalsLogged}; appliance exit code ${String(r.applianceExitCode)}`,
    `hits: ${r.hits.length + r.audio.runHits.length}`,
    ...r.hits.slice(0, 50).map((h) => `  HIT ${h.artifact}: canary #${h.canary} ${h.field} (${h.form}) at offset ${h.offset}`),
    ...r.audio.runHits.slice(0, 50).map((h) => `  HIT ${h.source}: canary #${h.canary}, a run of ${h.run.length} keyed digits`),
    ...r.problems.slice(0, 50).map((p) => `  PROBLEM canary #${p.canary ?? '?'} call ${p.callId ?? '?'}: ${p.problem}`),
  ];
  return lines;
}
