/**
 * RIFF/WAVE for the offline commands (`tonewall mask`, `tonewall detect`): 8 kHz mono, 16-bit PCM
 * (format 1), A-law (6) or µ-law (7), also inside WAVE_FORMAT_EXTENSIBLE (0xFFFE). Pure: bytes in,
 * samples out, and back in the same format. Anything else is refused with the value found and what
 * was expected.
 */
import { decode, encode, type CompandingLaw } from '../media/g711';
import { TonewallError } from '../../hw/base/errors';
import { SAMPLE_RATE } from './tone-generator';

export type WavEncoding = 'pcm16' | CompandingLaw;

export interface WavAudio {
  encoding: WavEncoding;
  /** Linear 16-bit samples (companded input is decoded). */
  samples: Int16Array;
}

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_ULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

function bad(what: string): TonewallError {
  return new TonewallError('EWAV_FORMAT', what);
}

/** Parses a WAV file's bytes. `name` is only used in error messages. */
export function parseWav(bytes: Uint8Array, name = 'input'): WavAudio {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') {
    throw bad(`${name}: not a RIFF/WAVE file (header "${b.toString('latin1', 0, 4)}…${b.toString('latin1', 8, 12)}", expected "RIFF…WAVE")`);
  }
  let format = -1;
  let bits = 0;
  let data: Buffer | undefined;
  let at = 12;
  while (at + 8 <= b.length) {
    const id = b.toString('latin1', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    const body = b.subarray(at + 8, Math.min(b.length, at + 8 + size));
    if (id === 'fmt ') {
      if (body.length < 16) throw bad(`${name}: fmt chunk of ${body.length} bytes, expected at least 16`);
      format = body.readUInt16LE(0);
      const channels = body.readUInt16LE(2);
      const rate = body.readUInt32LE(4);
      bits = body.readUInt16LE(14);
      if (format === FORMAT_EXTENSIBLE && body.length >= 26) format = body.readUInt16LE(24);
      if (channels !== 1) throw bad(`${name}: ${channels} channels, expected 1 (mono)`);
      if (rate !== SAMPLE_RATE) throw bad(`${name}: sample rate ${rate} Hz, expected ${SAMPLE_RATE}`);
    } else if (id === 'data') {
      data = body;
    }
    at += 8 + size + (size & 1);
  }
  if (format < 0) throw bad(`${name}: no fmt chunk`);
  if (!data) throw bad(`${name}: no data chunk`);
  if (format === FORMAT_PCM) {
    if (bits !== 16) throw bad(`${name}: PCM with ${bits} bits per sample, expected 16`);
    const samples = new Int16Array(data.length >> 1);
    for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(2 * i);
    return { encoding: 'pcm16', samples };
  }
  if (format === FORMAT_ALAW || format === FORMAT_ULAW) {
    if (bits !== 8) throw bad(`${name}: G.711 with ${bits} bits per sample, expected 8`);
    const law: CompandingLaw = format === FORMAT_ALAW ? 'alaw' : 'ulaw';
    return { encoding: law, samples: decode(law, data) };
  }
  throw bad(`${name}: WAVE format ${format}, expected 1 (PCM), 6 (A-law) or 7 (µ-law)`);
}

/** Serialises samples as a WAV file in `encoding` (plain WAVE_FORMAT header, 8 kHz mono). */
export function formatWav(audio: WavAudio): Buffer {
  const companded = audio.encoding !== 'pcm16';
  const bytesPerSample = companded ? 1 : 2;
  const dataBytes = audio.samples.length * bytesPerSample;
  const fmtBytes = companded ? 18 : 16;
  const out = Buffer.alloc(12 + 8 + fmtBytes + 8 + dataBytes + (dataBytes & 1));
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(out.length - 8, 4);
  out.write('WAVE', 8, 'latin1');
  out.write('fmt ', 12, 'latin1');
  out.writeUInt32LE(fmtBytes, 16);
  const format = audio.encoding === 'pcm16' ? FORMAT_PCM : audio.encoding === 'alaw' ? FORMAT_ALAW : FORMAT_ULAW;
  out.writeUInt16LE(format, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(SAMPLE_RATE, 24);
  out.writeUInt32LE(SAMPLE_RATE * bytesPerSample, 28);
  out.writeUInt16LE(bytesPerSample, 32);
  out.writeUInt16LE(bytesPerSample * 8, 34);
  let at = 36;
  if (companded) {
    out.writeUInt16LE(0, at);
    at += 2;
  }
  out.write('data', at, 'latin1');
  out.writeUInt32LE(dataBytes, at + 4);
  at += 8;
  if (audio.encoding === 'pcm16') {
    for (let i = 0; i < audio.samples.length; i++) out.writeInt16LE(audio.samples[i] as number, at + 2 * i);
  } else {
    out.set(encode(audio.encoding, audio.samples), at);
  }
  return out;
}
