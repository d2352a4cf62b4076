/**
 * The ports of the simulated 4-port analog FXO card and the PSTN behind them: hook state per port,
 * the call (if any) on each line, hook-command execution and one TDM tick of all lines. Pure
 * decisions, no I/O: SimCard (sim-card.ts) carries the results over the link.
 *
 * Per port:  on-hook idle ── scripted call ──▶ ringing ── off-hook ──▶ connected ── on-hook ──▶ idle
 *            on-hook idle ── off-hook ──▶ dial tone ── dial ──▶ outward call (ringback, scripted callee)
 *
 * An off-hook port with no call hears dial tone (350 + 440 Hz, -13 dBm0; Telcordia GR-506), so every
 * off-hook channel streams audio. A port that is off-hook after the far end hung up streams nothing.
 */
import { addTones } from '../../controller/dsp/tone-generator';
import { encode, type CompandingLaw } from '../../controller/media/g711';
import type { HookCommand, LineEvent, PortInfo } from '../card/types';
import type { CallerIdMode, CommandStatus, PcmChunk } from '../link/messages';
import type { CallScript } from './call-script';
import { PlayoutBuffer } from './playout-buffer';
import { calleeFor, PstnCall, SAMPLES_PER_TICK, type CalleeScript, type DisconnectSupervision, type PstnCallState } from './pstn-call';
import { SeededRandom } from './seeded-random';

export interface CommandOutcome {
  status: CommandStatus;
  /** Printable ASCII explanation, empty when ok; never carries dialled digits. */
  detail: string;
  events: LineEvent[];
  /** The command completes (command-result is due) this long after it was received. */
  completeAfterMs: number;
}

export interface SimPortsOptions {
  portCount: number;
  law: CompandingLaw;
  /** Disconnect supervision of each port (default loop-current-drop). */
  supervision?: (port: number) => DisconnectSupervision;
  callee?: CalleeScript;
  /** Callees by dialled number (digits only); others get `callee`. */
  callees?: Readonly<Record<string, CalleeScript>>;
  seed: number;
  loadWav: (path: string) => Int16Array;
  onCallState: (call: PstnCall, state: PstnCallState) => void;
}

interface PortState {
  info: PortInfo;
  offHook: boolean;
  call: PstnCall | undefined;
  /** How caller ID reaches the host (port-config): card-decoded events, FSK in the audio, or not at all. */
  callerIdMode: CallerIdMode;
  toneSample: number;
  playout: PlayoutBuffer;
}

/** Playout buffer toward each line: 250 ms of audio. */
export const PLAYOUT_MAX_BYTES = 2000;

/** DTMF dialling pace of the card: 50 ms tone + 50 ms pause per digit; ',' pauses 1 s. */
export function dialDurationMs(digits: string): number {
  let ms = 0;
  for (const c of digits) ms += c === ',' ? 1000 : 100;
  return ms;
}

export class SimPorts {
  private readonly ports: PortState[];
  private nextCallId = 1;
  private readonly block = new Int16Array(SAMPLES_PER_TICK);
  /** Host PCM that arrived for a channel with no connected call (counted, dropped). */
  hostPcmDropped = 0;

  /** Playout overruns and underruns over all ports (counters message). */
  get playoutCounters(): { overruns: number; underruns: number } {
    let overruns = 0;
    let underruns = 0;
    for (const p of this.ports) {
      overruns += p.playout.overruns;
      underruns += p.playout.underruns;
    }
    return { overruns, underruns };
  }

  constructor(private readonly opts: SimPortsOptions) {
    this.ports = Array.from({ length: opts.portCount }, (_, i) => ({
      info: { port: i + 1, kind: 'fxo' as const, channel: i + 1 },
      offHook: false,
      call: undefined,
      callerIdMode: 'card-decoded',
      toneSample: 0,
      playout: new PlayoutBuffer(PLAYOUT_MAX_BYTES),
    }));
  }

  get infos(): PortInfo[] {
    return this.ports.map((p) => ({ ...p.info }));
  }

  isIdle(port: number): boolean {
    const p = this.ports[port - 1];
    return p !== undefined && !p.offHook && p.call === undefined;
  }

  isOffHook(port: number): boolean {
    return this.ports[port - 1]?.offHook ?? false;
  }

  callOn(port: number): PstnCall | undefined {
    return this.ports[port - 1]?.call;
  }

  /** Starts a scripted inbound call now; undefined when the port is missing or not idle. */
  placeCall(script: CallScript): PstnCall | undefined {
    const p = this.ports[script.port - 1];
    if (!p || !this.isIdle(script.port)) return undefined;
    p.call = new PstnCall({
      id: this.nextCallId++,
      port: script.port,
      direction: 'inbound',
      script,
      callerIdInAudio: p.callerIdMode === 'in-audio',
      supervision: this.supervisionOf(script.port),
      law: this.opts.law,
      rng: new SeededRandom(script.seed ?? this.opts.seed + 7919 * this.nextCallId),
      loadWav: this.opts.loadWav,
      onState: (call, state) => this.opts.onCallState(call, state),
    });
    this.opts.onCallState(p.call, p.call.state);
    return p.call;
  }

  setCallerIdMode(port: number, mode: CallerIdMode): boolean {
    const p = this.ports[port - 1];
    if (!p) return false;
    p.callerIdMode = mode;
    return true;
  }

  execute(cmd: HookCommand): CommandOutcome {
    const p = this.ports[cmd.port - 1];
    if (!p) return fail('bad-port', `port ${cmd.port} not in 1..${this.ports.length}`);
    switch (cmd.kind) {
      case 'off-hook': {
        const events: LineEvent[] = [];
        if (!p.offHook) {
          p.offHook = true;
          p.toneSample = 0;
          events.push({ kind: 'hook-state', port: p.info.port, offHook: true });
          if (p.call) events.push(...p.call.hostOffHook());
        }
        return ok(events);
      }
      case 'on-hook': {
        const events: LineEvent[] = [];
        if (p.offHook) {
          p.offHook = false;
          events.push({ kind: 'hook-state', port: p.info.port, offHook: false });
          // An on-hook FXO ends any call except one still ringing toward it.
          if (p.call && p.call.state !== 'ringing') this.endCall(p, () => p.call?.hostOnHook());
        }
        return ok(events);
      }
      case 'flash':
        if (!p.offHook) return fail('wrong-state', `port ${cmd.port} is on-hook, flash needs off-hook`);
        if (!(cmd.durationMs >= 50 && cmd.durationMs <= 2000)) return fail('bad-argument', `flash ${cmd.durationMs} ms outside 50..2000`);
        return { ...ok([]), completeAfterMs: cmd.durationMs };
      case 'dial':
        if (!p.offHook) return fail('wrong-state', `port ${cmd.port} is on-hook, dial needs off-hook`);
        if (p.call) return fail('busy', `port ${cmd.port} has a call in state ${p.call.state}`);
        p.call = new PstnCall({
          id: this.nextCallId++,
          port: p.info.port,
          direction: 'outbound',
          callee: calleeFor(cmd.digits, this.opts.callees, this.opts.callee),
          dialled: cmd.digits.replace(/,/g, ''),
          dialMs: dialDurationMs(cmd.digits),
          supervision: this.supervisionOf(p.info.port),
          law: this.opts.law,
          rng: new SeededRandom(this.opts.seed + 104729 * this.nextCallId),
          loadWav: this.opts.loadWav,
          onState: (call, state) => this.opts.onCallState(call, state),
        });
        this.opts.onCallState(p.call, p.call.state);
        return { ...ok([]), completeAfterMs: dialDurationMs(cmd.digits) };
    }
  }

  /** One TDM tick of every line: the line events due and one PCM chunk per channel with audio. */
  tick(): { events: LineEvent[]; chunks: PcmChunk[] } {
    const events: LineEvent[] = [];
    const chunks: PcmChunk[] = [];
    for (const p of this.ports) {
      if (p.call) {
        if (p.call.state === 'connected') {
          const played = p.playout.take(SAMPLES_PER_TICK);
          if (played) p.call.hostPcm(played);
        } else p.playout.clear();
        const r = p.call.tick();
        for (const e of r.events) if (e.kind !== 'caller-id' || p.callerIdMode === 'card-decoded') events.push(e);
        // On-hook, a line carries audio only for in-audio caller ID while it rings.
        if (r.pcm && (p.offHook || p.call.state === 'ringing')) chunks.push({ channel: p.info.channel, data: Buffer.from(r.pcm) });
        if (p.call.state === 'ended') {
          p.call = undefined;
          p.playout.clear();
        }
      } else if (p.offHook) {
        this.block.fill(0);
        addTones(this.block, 0, SAMPLES_PER_TICK, [{ hz: 350, levelDbm0: -13 }, { hz: 440, levelDbm0: -13 }], p.toneSample);
        p.toneSample += SAMPLES_PER_TICK;
        chunks.push({ channel: p.info.channel, data: Buffer.from(encode(this.opts.law, this.block)) });
      }
    }
    return { events, chunks };
  }

  /** Host audio for a channel, queued for playout at the TDM rate; false when dropped (no connected call, or overrun). */
  hostPcm(channel: number, data: Uint8Array): boolean {
    const p = this.ports.find((x) => x.info.channel === channel);
    if (!p?.call || p.call.state !== 'connected') {
      this.hostPcmDropped++;
      return false;
    }
    return p.playout.push(data);
  }

  /** Card reset: every call ends, every port goes on-hook. */
  reset(): void {
    for (const p of this.ports) {
      p.offHook = false;
      p.callerIdMode = 'card-decoded';
      if (p.call) this.endCall(p, () => p.call?.reset());
    }
  }

  private endCall(p: PortState, how: () => void): void {
    how();
    p.call = undefined;
    p.playout.clear();
  }

  private supervisionOf(port: number): DisconnectSupervision {
    return this.opts.supervision?.(port) ?? 'loop-current-drop';
  }
}

function ok(events: LineEvent[]): CommandOutcome {
  return { status: 'ok', detail: '', events, completeAfterMs: 0 };
}

function fail(status: CommandStatus, detail: string): CommandOutcome {
  return { status, detail, events: [], completeAfterMs: 0 };
}
