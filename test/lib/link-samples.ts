/**
 * Sample link messages (one or more of every type) and fast-check arbitraries of canonical link
 * messages, for the codec, driver and simulator tests.
 */
import fc from 'fast-check';
import type { LineEvent, HookCommand, SpanAlarm } from '../../hw/card/types';
import { COMMAND_STATUSES, MAX_DCHAN_BYTES, MAX_PCM_CHUNK_BYTES, type LinkMessage, type MessageType } from '../../hw/link/messages';

export const SAMPLE_CARD_HELLO: Extract<LinkMessage, { type: 'card-hello' }> = {
  type: 'card-hello',
  protocolVersion: 1,
  law: 'ulaw',
  model: 'TW-FXO4',
  firmwareVersion: '1.2.3',
  serial: 'SN000123',
  ports: [1, 2, 3, 4].map((p) => ({ port: p, kind: 'fxo' as const, channel: p })),
  spans: [],
};

/** Every message type at least once, line events and hook commands in every kind. */
export function sampleMessages(): LinkMessage[] {
  const events: LineEvent[] = [
    { kind: 'ring-on', port: 1 },
    { kind: 'ring-off', port: 1 },
    { kind: 'caller-id', port: 2, number: '5551234567', name: 'TONEWALL DEMO' },
    { kind: 'loop-current', port: 3, present: true },
    { kind: 'loop-current', port: 3, present: false },
    { kind: 'battery-reversal', port: 4 },
    { kind: 'hook-state', port: 1, offHook: true },
    { kind: 'span-alarm', span: 1, alarms: ['LOS', 'AIS'] },
    { kind: 'span-alarm', span: 2, alarms: [] },
  ];
  const commands: HookCommand[] = [
    { kind: 'off-hook', port: 1 },
    { kind: 'on-hook', port: 2 },
    { kind: 'flash', port: 3, durationMs: 600 },
    { kind: 'dial', port: 4, digits: '1234567890*#ABCD,' },
  ];
  return [
    SAMPLE_CARD_HELLO,
    { ...SAMPLE_CARD_HELLO, law: 'alaw', ports: [], spans: [{ span: 1, type: 'E1', firstChannel: 1, channels: 30 }, { span: 2, type: 'T1', firstChannel: 31, channels: 24 }] },
    { type: 'host-hello', protocolMin: 1, protocolMax: 1, softwareVersion: 'tonewall 0.1.0' },
    { type: 'keepalive' },
    { type: 'span-config', requestId: 7, span: 1, lineCode: 'hdb3', framing: 'crc4', signaling: 'ccs', clockSource: 'line' },
    { type: 'port-config', requestId: 8, port: 2, callerIdMode: 'card-decoded', rxGainDeciDb: -35, txGainDeciDb: 120 },
    ...events.map((event): LinkMessage => ({ type: 'line-event', event })),
    { type: 'cas-bits', span: 1, channel: 5, abcd: 0b1001 },
    { type: 'dchan', span: 1, data: Buffer.from([0x02, 0x01, 0x7f]) },
    ...commands.map((command, i): LinkMessage => ({ type: 'hook-command', requestId: 100 + i, command })),
    { type: 'command-result', requestId: 100, status: 'ok', detail: '' },
    { type: 'command-result', requestId: 101, status: 'bad-port', detail: 'no port 9' },
    { type: 'pcm', tdmSample: 0xfffffff0, chunks: [{ channel: 1, data: Buffer.alloc(80, 0xff) }, { channel: 2, data: Buffer.from([1, 2, 3]) }] },
    { type: 'counters-request' },
    { type: 'counters', spans: [{ span: 1, slips: 2, crcErrors: 3, framingErrors: 4, lineCodeViolations: 0xffffffff }], linkRxCrcErrors: 1, linkRxFramesLost: 2, pcmUnderruns: 3, pcmOverruns: 4 },
  ];
}

/** fc.record with plain prototypes, so decoded messages compare deep-equal. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const u8 = (min = 0) => fc.integer({ min, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ascii = (maxLength: number, minLength = 0) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength, maxLength });
const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a));
const ALARMS: SpanAlarm[] = ['LOS', 'LOF', 'AIS', 'RAI'];

const lineEvent: fc.Arbitrary<LineEvent> = fc.oneof(
  rec({ kind: fc.constantFrom('ring-on' as const, 'ring-off' as const, 'battery-reversal' as const), port: u8(1) }),
  rec({ kind: fc.constant('caller-id' as const), port: u8(1), number: ascii(64), name: ascii(64) }),
  rec({ kind: fc.constant('loop-current' as const), port: u8(1), present: fc.boolean() }),
  rec({ kind: fc.constant('hook-state' as const), port: u8(1), offHook: fc.boolean() }),
  rec({ kind: fc.constant('span-alarm' as const), span: u8(1), alarms: fc.subarray(ALARMS) }),
);

const hookCommand: fc.Arbitrary<HookCommand> = fc.oneof(
  rec({ kind: fc.constantFrom('off-hook' as const, 'on-hook' as const), port: u8(1) }),
  rec({ kind: fc.constant('flash' as const), port: u8(1), durationMs: fc.integer({ min: 1, max: 0xffff }) }),
  rec({ kind: fc.constant('dial' as const), port: u8(1), digits: fc.string({ unit: fc.constantFrom(...'0123456789*#ABCD,'), minLength: 1, maxLength: 32 }) }),
);

const pcmChunks = fc
  .uniqueArray(rec({ channel: u8(1), data: bytes(1, MAX_PCM_CHUNK_BYTES) }), { minLength: 1, maxLength: 40, selector: (c) => c.channel })
  .filter((cs) => cs.reduce((n, c) => n + 2 + c.data.length, 5) <= 4096);

/** Canonical messages of every type (what any decoder output looks like). */
export const arbitraryLinkMessage: fc.Arbitrary<LinkMessage> = fc.oneof(
  rec({
    type: fc.constant('card-hello' as const),
    protocolVersion: u8(1),
    law: fc.constantFrom('ulaw' as const, 'alaw' as const),
    model: ascii(64),
    firmwareVersion: ascii(64),
    serial: ascii(64),
    ports: fc.array(rec({ port: u8(1), kind: fc.constantFrom('fxo' as const, 'fxs' as const), channel: u8(1) }), { maxLength: 24 }),
    spans: fc.array(rec({ span: u8(1), type: fc.constantFrom('E1' as const, 'T1' as const), firstChannel: u8(1), channels: fc.integer({ min: 1, max: 31 }) }), { maxLength: 4 }),
  }),
  fc.integer({ min: 1, max: 255 }).chain((min) => rec({ type: fc.constant('host-hello' as const), protocolMin: fc.constant(min), protocolMax: u8(min), softwareVersion: ascii(64) })),
  fc.constant({ type: 'keepalive' as const }),
  rec({
    type: fc.constant('span-config' as const),
    requestId: u16,
    span: u8(1),
    lineCode: fc.constantFrom('hdb3' as const, 'b8zs' as const, 'ami' as const),
    framing: fc.constantFrom('crc4' as const, 'no-crc4' as const, 'esf' as const, 'd4' as const),
    signaling: fc.constantFrom('ccs' as const, 'cas' as const),
    clockSource: fc.constantFrom('line' as const, 'internal' as const),
  }),
  rec({
    type: fc.constant('port-config' as const),
    requestId: u16,
    port: u8(1),
    callerIdMode: fc.constantFrom('none' as const, 'in-audio' as const, 'card-decoded' as const),
    rxGainDeciDb: fc.integer({ min: -120, max: 120 }),
    txGainDeciDb: fc.integer({ min: -120, max: 120 }),
  }),
  rec({ type: fc.constant('line-event' as const), event: lineEvent }),
  rec({ type: fc.constant('cas-bits' as const), span: u8(1), channel: fc.integer({ min: 1, max: 31 }), abcd: fc.integer({ min: 0, max: 15 }) }),
  rec({ type: fc.constant('dchan' as const), span: u8(1), data: bytes(1, MAX_DCHAN_BYTES) }),
  rec({ type: fc.constant('hook-command' as const), requestId: u16, command: hookCommand }),
  rec({ type: fc.constant('command-result' as const), requestId: u16, status: fc.constantFrom(...COMMAND_STATUSES), detail: ascii(64) }),
  rec({ type: fc.constant('pcm' as const), tdmSample: u32, chunks: pcmChunks }),
  fc.constant({ type: 'counters-request' as const }),
  rec({
    type: fc.constant('counters' as const),
    spans: fc.array(rec({ span: u8(1), slips: u32, crcErrors: u32, framingErrors: u32, lineCodeViolations: u32 }), { maxLength: 4 }),
    linkRxCrcErrors: u32,
    linkRxFramesLost: u32,
    pcmUnderruns: u32,
    pcmOverruns: u32,
  }),
);

export const ALL_MESSAGE_TYPES: MessageType[] = [
  'card-hello', 'host-hello', 'keepalive', 'span-config', 'port-config', 'line-event', 'cas-bits',
  'dchan', 'hook-command', 'command-result', 'pcm', 'counters-request', 'counters',
];
