import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { FrameDecoder, FrameEncoder, MAX_FRAME_BYTES, encodeFrame, type FrameError } from '../../../hw/link/codec';
import { crc32c, crc8 } from '../../../hw/link/crc';
import { MAX_PAYLOAD_BYTES, MessageCode, type LinkMessage } from '../../../hw/link/messages';
import * as link from '../../../hw/link';
import { ALL_MESSAGE_TYPES, sampleMessages } from '../../lib/link-samples';

function encodeAll(msgs: LinkMessage[], firstSeq = 0): Buffer {
  return Buffer.concat(msgs.map((m, i) => encodeFrame(m, (firstSeq + i) % 65536)));
}

/** A frame with a good CRC around an arbitrary type code and payload. */
function rawFrame(code: number, seq: number, payload: Buffer): Buffer {
  const f = Buffer.alloc(12 + payload.length);
  f[0] = 0xa5;
  f[1] = 0x5a;
  f[2] = code;
  f.writeUInt16LE(seq, 3);
  f.writeUInt16LE(payload.length, 5);
  f[7] = crc8(f, 2, 7);
  payload.copy(f, 8);
  f.writeUInt32LE(crc32c(f, 2, 8 + payload.length), 8 + payload.length);
  return f;
}

describe('link codec (docs/card-link.md §2 framing, §4 messages)', () => {
  const samples = sampleMessages();

  it('the samples cover every message type', () => {
    assert.deepEqual(new Set(samples.map((m) => m.type)), new Set(ALL_MESSAGE_TYPES));
    assert.deepEqual(new Set(ALL_MESSAGE_TYPES), new Set(Object.keys(MessageCode)));
  });

  it('round-trips every message type with its sequence number', () => {
    samples.forEach((msg, i) => {
      const d = new FrameDecoder();
      const frames = d.push(encodeFrame(msg, 1000 + i));
      assert.deepEqual(frames, [{ seq: 1000 + i, message: msg }], msg.type);
    });
  });

  it('encodes a keepalive as the documented bytes', () => {
    // a5 5a | type 03 | seq 0x0102 LE | len 0 | crc8 | crc32c LE
    const f = encodeFrame({ type: 'keepalive' }, 0x0102);
    assert.equal(f.subarray(0, 7).toString('hex'), 'a55a0302010000');
    assert.equal(f[7], crc8(f, 2, 7));
    assert.equal(f.readUInt32LE(8), crc32c(f, 2, 8));
    assert.equal(f.length, 12);
  });

  it('decodes a stream split at every byte boundary', () => {
    const stream = encodeAll(samples);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.equal(frames.length, samples.length, `cut at ${cut}`);
      assert.equal(d.stats.resyncBytesSkipped, 0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const stream = encodeAll(samples);
    const d = new FrameDecoder();
    const frames = [];
    for (const b of stream) frames.push(...d.push(Buffer.from([b])));
    assert.deepEqual(frames.map((f) => f.message), samples);
  });

  it('decodes many frames merged in one chunk', () => {
    const msgs = Array.from({ length: 50 }, () => samples).flat();
    const d = new FrameDecoder();
    const frames = d.push(encodeAll(msgs));
    assert.equal(frames.length, msgs.length);
    assert.deepEqual(frames.map((f) => f.seq), msgs.map((_m, i) => i));
    assert.equal(d.stats.framesLost, 0);
  });

  it('skips garbage before and between frames and counts the skipped bytes', () => {
    const garbage = Buffer.from('garbage \x00\xff\xa5 noise \xa5\x5a', 'latin1');
    const a = encodeFrame({ type: 'keepalive' }, 0);
    const b = encodeFrame(samples[5] ?? { type: 'keepalive' }, 1);
    const errors: FrameError[] = [];
    const d = new FrameDecoder({ onError: (e) => errors.push(e) });
    const frames = d.push(Buffer.concat([garbage, a, garbage, b, garbage.subarray(0, 3)]));
    assert.deepEqual(frames.map((f) => f.seq), [0, 1]);
    assert.equal(d.stats.resyncBytesSkipped, garbage.length * 2 + 3);
    assert.equal(d.bufferedBytes, 0);
    assert.ok(errors.every((e) => e.kind !== 'malformed'));
  });

  it('resynchronises after a truncated frame and delivers the next good frame', () => {
    const first = encodeFrame({ type: 'keepalive' }, 0);
    const big = encodeFrame(samples.find((m) => m.type === 'pcm') ?? { type: 'keepalive' }, 1);
    const good = [encodeFrame({ type: 'keepalive' }, 2), encodeFrame({ type: 'counters-request' }, 3)];
    const errors: FrameError[] = [];
    const d = new FrameDecoder({ onError: (e) => errors.push(e) });
    const frames = d.push(Buffer.concat([first, big.subarray(0, big.length - 30), ...good, Buffer.alloc(200, 0x33)]));
    assert.deepEqual(frames.map((f) => f.message.type), ['keepalive', 'keepalive', 'counters-request']);
    assert.equal(d.stats.crcErrors, 1);
    assert.equal(errors[0]?.kind, 'crc');
    assert.equal(d.stats.framesLost, 1, 'seq 1 was lost, seq 0, 2 and 3 arrived');
  });

  it('detects every single-bit corruption of a frame and then decodes the next frame', () => {
    const frame = encodeFrame(samples[2] ?? { type: 'keepalive' }, 5);
    const next = encodeFrame({ type: 'keepalive' }, 6);
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const bad = Buffer.from(frame);
      bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const d = new FrameDecoder();
      const frames = d.push(Buffer.concat([bad, next, Buffer.alloc(frame.length, 0x11)]));
      assert.deepEqual(frames.map((f) => f.seq), [6], `bit ${bit}`);
      const s = d.stats;
      assert.ok(s.crcErrors + s.headerErrors + s.resyncBytesSkipped > 0, `bit ${bit} left no trace`);
    }
  });

  it('refuses to encode a payload over the maximum and the decoder rejects such a length', () => {
    const dchan: LinkMessage = { type: 'dchan', span: 1, data: Buffer.alloc(265) };
    assert.throws(() => encodeFrame(dchan, 0), (e: unknown) => e instanceof TonewallError && e.code === 'LINK_ENCODE' && /dchan frame length 265 out of range, expected 1..264/.test(e.message));
    const chunks = Array.from({ length: 60 }, (_x, i) => ({ channel: i + 1, data: Buffer.alloc(80) }));
    assert.throws(() => encodeFrame({ type: 'pcm', tdmSample: 0, chunks }, 0), /pcm frame length 4925 exceeds 4096/);
    const header = Buffer.from([0xa5, 0x5a, 0x50, 0, 0, 0, 0, 0]);
    header.writeUInt16LE(MAX_PAYLOAD_BYTES + 1, 5);
    header[7] = crc8(header, 2, 7);
    const errors: FrameError[] = [];
    const d = new FrameDecoder({ onError: (e) => errors.push(e) });
    const frames = d.push(Buffer.concat([header, encodeFrame({ type: 'keepalive' }, 0)]));
    assert.equal(frames.length, 1);
    assert.equal(errors[0]?.reason, 'frame length 4097 exceeds 4096');
    assert.ok(d.bufferedBytes < MAX_FRAME_BYTES);
  });

  it('counts a good-CRC frame of unknown type as malformed, with the reason', () => {
    const errors: FrameError[] = [];
    const d = new FrameDecoder({ onError: (e) => errors.push(e) });
    const frames = d.push(Buffer.concat([rawFrame(0x3f, 0, Buffer.alloc(2)), encodeFrame({ type: 'keepalive' }, 1)]));
    assert.equal(frames.length, 1);
    assert.equal(d.stats.malformedFrames, 1);
    assert.deepEqual(errors, [{ kind: 'malformed', reason: 'frame type 0x3f unknown', typeCode: 0x3f, seq: 0 }]);
    assert.equal(d.stats.framesLost, 0, 'a malformed frame still counts for sequencing');
  });

  it('counts a pcm chunk over 80 bytes as malformed, naming the length', () => {
    const payload = Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 3, 81]), Buffer.alloc(81)]);
    const errors: FrameError[] = [];
    const d = new FrameDecoder({ onError: (e) => errors.push(e) });
    assert.deepEqual(d.push(rawFrame(MessageCode.pcm, 0, payload)), []);
    assert.equal(errors[0]?.reason, 'pcm chunk length 81 for channel 3 out of range, expected 1..80');
  });

  it('rejects trailing bytes, bad enum codes and non-ASCII strings as malformed', () => {
    const cases: [number, Buffer, RegExp][] = [
      [MessageCode.keepalive, Buffer.from([0]), /keepalive payload has 1 trailing bytes/],
      [MessageCode['line-event'], Buffer.from([9, 1]), /line-event line event kind code 0x09 unknown/],
      [MessageCode['line-event'], Buffer.from([4, 1, 2]), /loop-current present 2 out of range, expected 0..1/],
      [MessageCode['command-result'], Buffer.from([1, 0, 0, 1, 0xc3]), /detail byte 0xc3 is not printable ASCII/],
      [MessageCode['hook-command'], Buffer.from([1, 0, 4, 1, 1, 0x45]), /dial digits contain a character outside/],
      [MessageCode['line-event'], Buffer.from([1, 0]), /port 0 out of range, expected 1..255/],
    ];
    for (const [code, payload, reason] of cases) {
      const errors: FrameError[] = [];
      const d = new FrameDecoder({ onError: (e) => errors.push(e) });
      assert.deepEqual(d.push(rawFrame(code, 0, payload)), []);
      assert.equal(errors.length, 1);
      assert.match(errors[0]?.reason ?? '', reason);
    }
  });

  it('restarts sequence tracking at a hello and FrameEncoder numbers from 0 after a hello', () => {
    const enc = new FrameEncoder();
    const stream = Buffer.concat([enc.encode({ type: 'keepalive' }), enc.encode({ type: 'keepalive' }), enc.encode(samples[0] ?? { type: 'keepalive' }), enc.encode({ type: 'keepalive' })]);
    const d = new FrameDecoder();
    assert.deepEqual(d.push(stream).map((f) => f.seq), [0, 1, 0, 1]);
    assert.equal(d.stats.framesLost, 0);
    assert.equal(d.stats.seqRestarts, 0);
    assert.equal(enc.framesOut, 4);
  });

  it('refuses a sequence number out of range and a non-ASCII string, naming them', () => {
    assert.throws(() => encodeFrame({ type: 'keepalive' }, 65536), /frame seq 65536 out of range, expected integer 0..65535/);
    assert.throws(() => encodeFrame({ type: 'command-result', requestId: 1, status: 'ok', detail: 'é' }, 0), /detail contains a character outside printable ASCII/);
  });
});

describe('hw/link index', () => {
  it('re-exports the codec, messages, CRCs and tracker from one module', () => {
    assert.equal(typeof link.encodeFrame, 'function');
    assert.equal(typeof link.FrameDecoder, 'function');
    assert.equal(typeof link.SequenceTracker, 'function');
    assert.equal(link.crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(link.MessageCode.pcm, 0x50);
    assert.equal(link.decodePayload('keepalive', Buffer.alloc(0)).type, 'keepalive');
  });
});
