/**
 * The messages of the card link, a tagged union on `type` (docs/card-link.md §4 has the byte layout
 * of each). The codec (codec.ts, payload-codec.ts) maps them to and from frames; the driver (hw/card)
 * speaks the host side, the simulator (hw/sim) the card side.
 *
 * Line events, hook commands and the card's description reuse the types of hw/card/types.ts so the
 * driver passes them through unchanged.
 */
import type { CardInfo, CompandingLaw, HookCommand, LineEvent, PortInfo, SpanInfo } from '../card/types';

/** The protocol versions this build speaks (docs/card-link.md §3 negotiation). */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 1;

/** Most payload bytes in one frame. */
export const MAX_PAYLOAD_BYTES = 4096;
/** Most PCM bytes per channel in one chunk: 10 ms of G.711 at 8 kHz. */
export const MAX_PCM_CHUNK_BYTES = 80;
/** Most bytes of one D-channel frame (Q.921 §5.9.3: N201 = 260 octets plus address and control). */
export const MAX_DCHAN_BYTES = 264;
/** Most bytes of any length-prefixed string (printable ASCII only). */
export const MAX_STRING_BYTES = 64;
/** Most digits in one dial command. */
export const MAX_DIAL_DIGITS = 32;
/** Characters a dial command may carry (',' is a 1 s pause). */
export const DIAL_CHARSET = /^[0-9*#A-D,]*$/;

/** Frame type codes (docs/card-link.md §4). */
export const MessageCode = {
  'card-hello': 0x01,
  'host-hello': 0x02,
  keepalive: 0x03,
  'span-config': 0x10,
  'port-config': 0x11,
  'line-event': 0x20,
  'cas-bits': 0x21,
  dchan: 0x30,
  'hook-command': 0x40,
  'command-result': 0x41,
  pcm: 0x50,
  'counters-request': 0x60,
  counters: 0x61,
} as const;

export type MessageType = keyof typeof MessageCode;

/** Card → host, in answer to host-hello (or unsolicited after the card booted). */
export interface CardHelloMessage extends CardInfo {
  type: 'card-hello';
}

/** Host → card: opens the handshake with the range of versions the host speaks. */
export interface HostHelloMessage {
  type: 'host-hello';
  protocolMin: number;
  protocolMax: number;
  softwareVersion: string;
}

/** Both ways, every keepaliveMs when nothing else was sent. */
export interface KeepaliveMessage {
  type: 'keepalive';
}

export type SpanLineCode = 'hdb3' | 'b8zs' | 'ami';
export type SpanFraming = 'crc4' | 'no-crc4' | 'esf' | 'd4';
export type SpanSignaling = 'ccs' | 'cas';
export type SpanClockSource = 'line' | 'internal';

/** Host → card; answered by command-result with the same requestId. */
export interface SpanConfigMessage {
  type: 'span-config';
  requestId: number;
  span: number;
  lineCode: SpanLineCode;
  framing: SpanFraming;
  signaling: SpanSignaling;
  clockSource: SpanClockSource;
}

/** How caller ID reaches the host: the card decodes it (caller-id events), or it stays in the audio. */
export type CallerIdMode = 'none' | 'in-audio' | 'card-decoded';

/** Host → card; answered by command-result with the same requestId. */
export interface PortConfigMessage {
  type: 'port-config';
  requestId: number;
  port: number;
  callerIdMode: CallerIdMode;
  /** Receive gain (line → host), tenths of a dB, -120..120. */
  rxGainDeciDb: number;
  /** Transmit gain (host → line), tenths of a dB, -120..120. */
  txGainDeciDb: number;
}

/** Card → host. */
export interface LineEventMessage {
  type: 'line-event';
  event: LineEvent;
}

/** Card → host: CAS signaling bits of one channel changed (reserved for E&M / E1 CAS, protocol v1). */
export interface CasBitsMessage {
  type: 'cas-bits';
  span: number;
  /** Bearer channel within the span, 1-based. */
  channel: number;
  /** ABCD bits, A in bit 3 … D in bit 0. */
  abcd: number;
}

/** Both ways: one D-channel HDLC frame of a span, without flags and FCS. */
export interface DchanMessage {
  type: 'dchan';
  span: number;
  data: Buffer;
}

/** Host → card; answered by command-result with the same requestId once the action is complete. */
export interface HookCommandMessage {
  type: 'hook-command';
  requestId: number;
  command: HookCommand;
}

export const COMMAND_STATUSES = ['ok', 'bad-port', 'bad-argument', 'wrong-state', 'busy', 'unsupported', 'failed'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** Card → host: the outcome of a hook-command, span-config or port-config. */
export interface CommandResultMessage {
  type: 'command-result';
  requestId: number;
  status: CommandStatus;
  /** Short printable-ASCII explanation; empty when ok. */
  detail: string;
}

export interface PcmChunk {
  /** TDM channel (1-based). */
  channel: number;
  /** Companded G.711 in the card's law, 1..80 bytes. */
  data: Buffer;
}

/** Both ways: up to 10 ms of audio for any number of channels. */
export interface PcmMessage {
  type: 'pcm';
  /** 8 kHz sample counter (mod 2^32) of the first sample: the card's TDM clock, or the host's own count toward the card. */
  tdmSample: number;
  chunks: PcmChunk[];
}

/** Host → card: asks for a counters report now. */
export interface CountersRequestMessage {
  type: 'counters-request';
}

export interface SpanCounters {
  span: number;
  /** Controlled slips (frame slips of the receive elastic store). */
  slips: number;
  /** E1 CRC-4 or T1 ESF CRC-6 errors. */
  crcErrors: number;
  framingErrors: number;
  /** Bipolar / line code violations. */
  lineCodeViolations: number;
}

/** Card → host: every 10 s and on counters-request. All counters are u32, wrapping, since card boot. */
export interface CountersMessage {
  type: 'counters';
  spans: SpanCounters[];
  /** Frames from the host whose CRC failed at the card. */
  linkRxCrcErrors: number;
  /** Gaps in the host's sequence numbers seen by the card. */
  linkRxFramesLost: number;
  /** 10 ms periods the card had no host PCM for an active channel and played silence. */
  pcmUnderruns: number;
  /** Host PCM chunks the card dropped because its buffer was full. */
  pcmOverruns: number;
}

export type LinkMessage =
  | CardHelloMessage
  | HostHelloMessage
  | KeepaliveMessage
  | SpanConfigMessage
  | PortConfigMessage
  | LineEventMessage
  | CasBitsMessage
  | DchanMessage
  | HookCommandMessage
  | CommandResultMessage
  | PcmMessage
  | CountersRequestMessage
  | CountersMessage;

/** One message of each type, keyed by type (for handler maps the compiler checks). */
export type LinkMessageOf<T extends MessageType> = Extract<LinkMessage, { type: T }>;

export type { CardInfo, CompandingLaw, HookCommand, LineEvent, PortInfo, SpanInfo };
