/**
 * Payload layouts of every link message (docs/card-link.md §4), one encoder and one decoder per
 * type in maps the compiler checks for completeness. All integers little-endian; strings are a u8
 * length plus printable ASCII. Decoders are strict (ranges, enum codes, no trailing bytes) and
 * mirror the encoders, so whatever decodes re-encodes to the same bytes.
 */
import type { HookCommand, LineEvent, SpanAlarm } from '../card/types';
import { ByteReader, ByteWriter, CodeTable, LinkPayloadError } from './byte-io';
import {
  COMMAND_STATUSES,
  DIAL_CHARSET,
  MAX_DCHAN_BYTES,
  MAX_DIAL_DIGITS,
  MAX_PCM_CHUNK_BYTES,
  MAX_STRING_BYTES,
  type CommandStatus,
  type LinkMessage,
  type LinkMessageOf,
  type MessageType,
} from './messages';

const law = new CodeTable('law', { ulaw: 1, alaw: 2 });
const portKind = new CodeTable('port kind', { fxo: 1, fxs: 2 });
const spanType = new CodeTable('span type', { E1: 1, T1: 2 });
const lineCode = new CodeTable('line code', { hdb3: 1, b8zs: 2, ami: 3 });
const framing = new CodeTable('framing', { crc4: 1, 'no-crc4': 2, esf: 3, d4: 4 });
const signaling = new CodeTable('signaling', { ccs: 1, cas: 2 });
const clockSource = new CodeTable('clock source', { line: 1, internal: 2 });
const callerIdMode = new CodeTable('caller-id mode', { none: 0, 'in-audio': 1, 'card-decoded': 2 });
const lineEventKind = new CodeTable<LineEvent['kind']>('line event kind', {
  'ring-on': 1,
  'ring-off': 2,
  'caller-id': 3,
  'loop-current': 4,
  'battery-reversal': 5,
  'hook-state': 6,
  'span-alarm': 7,
});
const hookKind = new CodeTable<HookCommand['kind']>('hook command kind', { 'off-hook': 1, 'on-hook': 2, flash: 3, dial: 4 });
const status = new CodeTable<CommandStatus>(
  'command status',
  Object.fromEntries(COMMAND_STATUSES.map((s, i) => [s, i])) as Record<CommandStatus, number>,
);

/** Span alarm bits, in canonical order (decoded alarm lists come out in this order). */
const ALARM_BITS: readonly [SpanAlarm, number][] = [
  ['LOS', 0x01],
  ['LOF', 0x02],
  ['AIS', 0x04],
  ['RAI', 0x08],
];

const GAIN_DECI_DB = 120;

type Encoders = { [T in MessageType]: (w: ByteWriter, m: LinkMessageOf<T>) => void };
type Decoders = { [T in MessageType]: (r: ByteReader) => LinkMessageOf<T> };

function encodeLineEvent(w: ByteWriter, e: LineEvent): void {
  w.u8('line event kind', lineEventKind.encode(e.kind));
  switch (e.kind) {
    case 'span-alarm': {
      w.u8('span', e.span, 1);
      let bits = 0;
      for (const a of e.alarms) {
        const bit = ALARM_BITS.find(([n]) => n === a);
        if (!bit) throw new LinkPayloadError(`span alarm '${String(a)}' unknown, expected LOS, LOF, AIS or RAI`);
        bits |= bit[1];
      }
      w.u8('alarm bits', bits);
      return;
    }
    case 'ring-on':
    case 'ring-off':
    case 'battery-reversal':
      w.u8('port', e.port, 1);
      return;
    case 'caller-id':
      w.u8('port', e.port, 1).str('caller-id number', e.number, MAX_STRING_BYTES).str('caller-id name', e.name, MAX_STRING_BYTES);
      return;
    case 'loop-current':
      w.u8('port', e.port, 1).bool(e.present);
      return;
    case 'hook-state':
      w.u8('port', e.port, 1).bool(e.offHook);
      return;
  }
}

function decodeLineEvent(r: ByteReader): LineEvent {
  const kind = lineEventKind.decode('line-event', r.u8('kind'));
  if (kind === 'span-alarm') {
    const span = r.u8('span', 1);
    const bits = r.u8('alarm bits', 0, 0x0f);
    return { kind, span, alarms: ALARM_BITS.filter(([, b]) => bits & b).map(([n]) => n) };
  }
  const port = r.u8('port', 1);
  switch (kind) {
    case 'ring-on':
    case 'ring-off':
    case 'battery-reversal':
      return { kind, port };
    case 'caller-id':
      return { kind, port, number: r.str('caller-id number', MAX_STRING_BYTES), name: r.str('caller-id name', MAX_STRING_BYTES) };
    case 'loop-current':
      return { kind, port, present: r.bool('loop-current present') };
    case 'hook-state':
      return { kind, port, offHook: r.bool('hook-state offHook') };
  }
}

function encodeHookCommand(w: ByteWriter, c: HookCommand): void {
  w.u8('hook command kind', hookKind.encode(c.kind)).u8('port', c.port, 1);
  if (c.kind === 'flash') w.u16('flash durationMs', c.durationMs, 1);
  if (c.kind === 'dial') {
    if (!DIAL_CHARSET.test(c.digits)) throw new LinkPayloadError('dial digits contain a character outside 0-9 * # A-D ,');
    w.str('dial digits', c.digits, MAX_DIAL_DIGITS, 1);
  }
}

function decodeHookCommand(r: ByteReader): HookCommand {
  const kind = hookKind.decode('hook-command', r.u8('kind'));
  const port = r.u8('port', 1);
  switch (kind) {
    case 'off-hook':
    case 'on-hook':
      return { kind, port };
    case 'flash':
      return { kind, port, durationMs: r.u16('flash durationMs', 1) };
    case 'dial': {
      const digits = r.str('dial digits', MAX_DIAL_DIGITS, 1);
      if (!DIAL_CHARSET.test(digits)) throw new LinkPayloadError('hook-command dial digits contain a character outside 0-9 * # A-D ,');
      return { kind, port, digits };
    }
  }
}

const encoders: Encoders = {
  'card-hello': (w, m) => {
    w.u8('protocolVersion', m.protocolVersion, 1).u8('law', law.encode(m.law));
    w.str('model', m.model, MAX_STRING_BYTES).str('firmwareVersion', m.firmwareVersion, MAX_STRING_BYTES).str('serial', m.serial, MAX_STRING_BYTES);
    w.u8('port count', m.ports.length);
    for (const p of m.ports) w.u8('port', p.port, 1).u8('port kind', portKind.encode(p.kind)).u8('port channel', p.channel, 1);
    w.u8('span count', m.spans.length);
    for (const s of m.spans) {
      w.u8('span', s.span, 1).u8('span type', spanType.encode(s.type)).u8('span firstChannel', s.firstChannel, 1).u8('span channels', s.channels, 1, 31);
    }
  },
  'host-hello': (w, m) => {
    w.u8('protocolMin', m.protocolMin, 1).u8('protocolMax', m.protocolMax, m.protocolMin).str('softwareVersion', m.softwareVersion, MAX_STRING_BYTES);
  },
  keepalive: () => undefined,
  'span-config': (w, m) => {
    w.u16('requestId', m.requestId).u8('span', m.span, 1).u8('line code', lineCode.encode(m.lineCode)).u8('framing', framing.encode(m.framing));
    w.u8('signaling', signaling.encode(m.signaling)).u8('clock source', clockSource.encode(m.clockSource));
  },
  'port-config': (w, m) => {
    w.u16('requestId', m.requestId).u8('port', m.port, 1).u8('caller-id mode', callerIdMode.encode(m.callerIdMode));
    w.s8('rxGainDeciDb', m.rxGainDeciDb, -GAIN_DECI_DB, GAIN_DECI_DB).s8('txGainDeciDb', m.txGainDeciDb, -GAIN_DECI_DB, GAIN_DECI_DB);
  },
  'line-event': (w, m) => encodeLineEvent(w, m.event),
  'cas-bits': (w, m) => {
    w.u8('span', m.span, 1).u8('channel', m.channel, 1, 31).u8('abcd', m.abcd, 0, 0x0f);
  },
  dchan: (w, m) => {
    w.u8('span', m.span, 1);
    if (m.data.length < 1 || m.data.length > MAX_DCHAN_BYTES) throw new LinkPayloadError(`dchan frame length ${m.data.length} out of range, expected 1..${MAX_DCHAN_BYTES}`);
    w.bytes(m.data);
  },
  'hook-command': (w, m) => {
    w.u16('requestId', m.requestId);
    encodeHookCommand(w, m.command);
  },
  'command-result': (w, m) => {
    w.u16('requestId', m.requestId).u8('status', status.encode(m.status)).str('detail', m.detail, MAX_STRING_BYTES);
  },
  pcm: (w, m) => {
    w.u32('tdmSample', m.tdmSample).u8('pcm chunk count', m.chunks.length, 1);
    const seen = new Set<number>();
    for (const c of m.chunks) {
      if (seen.has(c.channel)) throw new LinkPayloadError(`pcm channel ${c.channel} appears twice in one frame, expected once`);
      seen.add(c.channel);
      if (c.data.length < 1 || c.data.length > MAX_PCM_CHUNK_BYTES) {
        throw new LinkPayloadError(`pcm chunk length ${c.data.length} for channel ${c.channel} out of range, expected 1..${MAX_PCM_CHUNK_BYTES}`);
      }
      w.u8('pcm channel', c.channel, 1).u8('pcm chunk length', c.data.length).bytes(c.data);
    }
  },
  'counters-request': () => undefined,
  counters: (w, m) => {
    w.u8('span count', m.spans.length);
    for (const s of m.spans) {
      w.u8('span', s.span, 1).u32('slips', s.slips).u32('crcErrors', s.crcErrors).u32('framingErrors', s.framingErrors).u32('lineCodeViolations', s.lineCodeViolations);
    }
    w.u32('linkRxCrcErrors', m.linkRxCrcErrors).u32('linkRxFramesLost', m.linkRxFramesLost).u32('pcmUnderruns', m.pcmUnderruns).u32('pcmOverruns', m.pcmOverruns);
  },
};

const decoders: Decoders = {
  'card-hello': (r) => {
    const protocolVersion = r.u8('protocolVersion', 1);
    const cardLaw = law.decode('card-hello', r.u8('law'));
    const model = r.str('model', MAX_STRING_BYTES);
    const firmwareVersion = r.str('firmwareVersion', MAX_STRING_BYTES);
    const serial = r.str('serial', MAX_STRING_BYTES);
    const ports = Array.from({ length: r.u8('port count') }, () => ({
      port: r.u8('port', 1),
      kind: portKind.decode('card-hello', r.u8('port kind')),
      channel: r.u8('port channel', 1),
    }));
    const spans = Array.from({ length: r.u8('span count') }, () => ({
      span: r.u8('span', 1),
      type: spanType.decode('card-hello', r.u8('span type')),
      firstChannel: r.u8('span firstChannel', 1),
      channels: r.u8('span channels', 1, 31),
    }));
    return { type: 'card-hello', protocolVersion, law: cardLaw, model, firmwareVersion, serial, ports, spans };
  },
  'host-hello': (r) => {
    const protocolMin = r.u8('protocolMin', 1);
    return { type: 'host-hello', protocolMin, protocolMax: r.u8('protocolMax', protocolMin), softwareVersion: r.str('softwareVersion', MAX_STRING_BYTES) };
  },
  keepalive: () => ({ type: 'keepalive' }),
  'span-config': (r) => ({
    type: 'span-config',
    requestId: r.u16('requestId'),
    span: r.u8('span', 1),
    lineCode: lineCode.decode('span-config', r.u8('line code')),
    framing: framing.decode('span-config', r.u8('framing')),
    signaling: signaling.decode('span-config', r.u8('signaling')),
    clockSource: clockSource.decode('span-config', r.u8('clock source')),
  }),
  'port-config': (r) => ({
    type: 'port-config',
    requestId: r.u16('requestId'),
    port: r.u8('port', 1),
    callerIdMode: callerIdMode.decode('port-config', r.u8('caller-id mode')),
    rxGainDeciDb: r.s8('rxGainDeciDb', -GAIN_DECI_DB, GAIN_DECI_DB),
    txGainDeciDb: r.s8('txGainDeciDb', -GAIN_DECI_DB, GAIN_DECI_DB),
  }),
  'line-event': (r) => ({ type: 'line-event', event: decodeLineEvent(r) }),
  'cas-bits': (r) => ({ type: 'cas-bits', span: r.u8('span', 1), channel: r.u8('channel', 1, 31), abcd: r.u8('abcd', 0, 0x0f) }),
  dchan: (r) => {
    const span = r.u8('span', 1);
    if (r.remaining < 1 || r.remaining > MAX_DCHAN_BYTES) throw new LinkPayloadError(`dchan frame length ${r.remaining} out of range, expected 1..${MAX_DCHAN_BYTES}`);
    return { type: 'dchan', span, data: r.rest('dchan data') };
  },
  'hook-command': (r) => ({ type: 'hook-command', requestId: r.u16('requestId'), command: decodeHookCommand(r) }),
  'command-result': (r) => ({
    type: 'command-result',
    requestId: r.u16('requestId'),
    status: status.decode('command-result', r.u8('status')),
    detail: r.str('detail', MAX_STRING_BYTES),
  }),
  pcm: (r) => {
    const tdmSample = r.u32('tdmSample');
    const count = r.u8('pcm chunk count', 1);
    const seen = new Set<number>();
    const chunks = [];
    for (let i = 0; i < count; i++) {
      const channel = r.u8('pcm channel', 1);
      if (seen.has(channel)) throw new LinkPayloadError(`pcm channel ${channel} appears twice in one frame, expected once`);
      seen.add(channel);
      const len = r.u8('pcm chunk length');
      if (len < 1 || len > MAX_PCM_CHUNK_BYTES) throw new LinkPayloadError(`pcm chunk length ${len} for channel ${channel} out of range, expected 1..${MAX_PCM_CHUNK_BYTES}`);
      chunks.push({ channel, data: r.bytes('pcm data', len) });
    }
    return { type: 'pcm', tdmSample, chunks };
  },
  'counters-request': () => ({ type: 'counters-request' }),
  counters: (r) => {
    const spans = Array.from({ length: r.u8('span count') }, () => ({
      span: r.u8('span', 1),
      slips: r.u32('slips'),
      crcErrors: r.u32('crcErrors'),
      framingErrors: r.u32('framingErrors'),
      lineCodeViolations: r.u32('lineCodeViolations'),
    }));
    return {
      type: 'counters',
      spans,
      linkRxCrcErrors: r.u32('linkRxCrcErrors'),
      linkRxFramesLost: r.u32('linkRxFramesLost'),
      pcmUnderruns: r.u32('pcmUnderruns'),
      pcmOverruns: r.u32('pcmOverruns'),
    };
  },
};

/** Encodes a message's payload; throws LinkPayloadError naming the field that does not fit. */
export function encodePayload(msg: LinkMessage): Buffer {
  const w = new ByteWriter();
  (encoders[msg.type] as (w: ByteWriter, m: LinkMessage) => void)(w, msg);
  return w.finish();
}

/** Decodes a payload of a known type; throws LinkPayloadError with the reason it does not fit. */
export function decodePayload(type: MessageType, payload: Buffer): LinkMessage {
  const r = new ByteReader(payload, type);
  const msg = decoders[type](r);
  r.end();
  return msg;
}
