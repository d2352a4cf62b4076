/**
 * The TelephonyCard interface: what the controller sees of a card, real or simulated.
 *
 * The card is a byte stream (hw/link frames over serialport); this interface is one level up:
 * ports and spans, line events, hook commands and PCM. It knows nothing of calls (DESIGN.md §3).
 *
 * Audio: the card's TDM clock is the audio clock. PCM travels as companded G.711 in the card's
 * law (`CardInfo.law`), one byte per sample at 8 kHz, in chunks of at most 10 ms (80 bytes) per
 * channel. For an analog port, its channel number equals its port number (1-based).
 */
import type { TypedEmitter } from '../base/typed-emitter';

export type CompandingLaw = 'ulaw' | 'alaw';

export type PortKind = 'fxo' | 'fxs';

export interface PortInfo {
  /** 1-based port number. */
  port: number;
  kind: PortKind;
  /** TDM channel carrying this port's audio. */
  channel: number;
}

export type SpanType = 'E1' | 'T1';

export interface SpanInfo {
  /** 1-based span number. */
  span: number;
  type: SpanType;
  /** First TDM channel of the span's bearer channels. */
  firstChannel: number;
  channels: number;
}

/** What the card said of itself in its hello (docs/card-link.md). */
export interface CardInfo {
  model: string;
  firmwareVersion: string;
  serial: string;
  protocolVersion: number;
  law: CompandingLaw;
  ports: PortInfo[];
  spans: SpanInfo[];
}

export type SpanAlarm = 'LOS' | 'LOF' | 'AIS' | 'RAI';

/** Line events from the card, a tagged union (STYLE.md). */
export type LineEvent =
  | { kind: 'ring-on'; port: number }
  | { kind: 'ring-off'; port: number }
  /** Caller ID decoded by the card itself (cards that pass FSK in the audio send no such event). */
  | { kind: 'caller-id'; port: number; number: string; name: string }
  | { kind: 'loop-current'; port: number; present: boolean }
  | { kind: 'battery-reversal'; port: number }
  /** The card confirms the hook state it has put the line in. */
  | { kind: 'hook-state'; port: number; offHook: boolean }
  | { kind: 'span-alarm'; span: number; alarms: SpanAlarm[] };

export type LineEventKind = LineEvent['kind'];

export type HookCommand =
  | { kind: 'off-hook'; port: number }
  | { kind: 'on-hook'; port: number }
  | { kind: 'flash'; port: number; durationMs: number }
  /** Dial digits on a port (the card generates DTMF or pulses). */
  | { kind: 'dial'; port: number; digits: string };

/** Counters of the link, kept by the driver; all reach MQTT metrics. */
export interface LinkCounters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames whose CRC did not match. */
  crcErrors: number;
  /** Bytes skipped while hunting for a frame start. */
  resyncBytesSkipped: number;
  /** Frames rejected after a good CRC (unknown type, bad length for the type). */
  malformedFrames: number;
  /** Gaps in the peer's sequence numbers (frames lost in transit). */
  framesLost: number;
  keepalivesMissed: number;
  reconnects: number;
  /** PCM chunks that arrived for an unknown channel or with a bad size. */
  pcmDropped: number;
}

export type CardLinkState = 'disconnected' | 'connecting' | 'handshaking' | 'up';

export interface CardEvents {
  /** The link came up and the card said hello. */
  'link-up': [info: CardInfo];
  /** The link went down (stream closed, keepalive timeout, protocol error); the driver reconnects. */
  'link-down': [reason: string];
  line: [event: LineEvent];
  /** PCM from the card for one channel: companded in the card's law, ≤ 80 bytes (10 ms). */
  pcm: [channel: number, data: Buffer];
  /** A problem worth counting and logging, not fatal to the link. */
  warning: [message: string];
}

export interface TelephonyCard extends TypedEmitter<CardEvents> {
  readonly state: CardLinkState;
  /** The card's hello, once the link is up. */
  readonly info: CardInfo | undefined;
  readonly counters: Readonly<LinkCounters>;
  /** Opens the link and keeps it open (reconnecting with backoff) until stop(). Resolves once the first attempt has started. */
  start(): Promise<void>;
  /** Closes the link; pending requests fail. */
  stop(): Promise<void>;
  /** Sends a hook/dial command; resolves when the card acknowledges it, rejects with a timeout error naming the command. */
  command(cmd: HookCommand): Promise<void>;
  /** Queues PCM toward the card for one channel: companded, ≤ 80 bytes. Never blocks; drops (and counts) when the link is down. */
  writePcm(channel: number, data: Uint8Array): void;
}
