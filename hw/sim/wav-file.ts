/**
 * Reads the audio a scripted caller plays from a file: RIFF/WAVE, PCM 16-bit little-endian, mono,
 * 8000 Hz (the format `sox -r 8000 -c 1 -b 16 -e signed-integer` writes). Anything else is refused
 * with an error naming what was found and what is expected; no resampling is done.
 */
import { readFileSync } from 'node:fs';
import { TonewallError } from '../base/errors';

export function parseWav(data: Buffer, name = 'wav'): Int16Array {
  if (data.length < 12 || data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') {
    throw new TonewallError('SIM_WAV_FORMAT', `${name}: not a RIFF/WAVE file (expected "RIFF....WAVE" header)`);
  }
  let offset = 12;
  let format: { tag: number; channels: number; rate: number; bits: number } | undefined;
  while (offset + 8 <= data.length) {
    const id = data.toString('ascii', offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && body + 16 <= data.length) {
      format = {
        tag: data.readUInt16LE(body),
        channels: data.readUInt16LE(body + 2),
        rate: data.readUInt32LE(body + 4),
        bits: data.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!format) throw new TonewallError('SIM_WAV_FORMAT', `${name}: data chunk before fmt chunk`);
      if (format.tag !== 1 || format.channels !== 1 || format.rate !== 8000 || format.bits !== 16) {
        throw new TonewallError(
          'SIM_WAV_FORMAT',
          `${name}: format tag ${format.tag}, ${format.channels} channel(s), ${format.rate} Hz, ${format.bits} bit; expected PCM (1), 1 channel, 8000 Hz, 16 bit`,
        );
      }
      const end = Math.min(data.length, body + size);
      const samples = new Int16Array(Math.floor((end - body) / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(body + 2 * i);
      return samples;
    }
    offset = body + size + (size & 1);
  }
  throw new TonewallError('SIM_WAV_FORMAT', `${name}: no data chunk found`);
}

export function readWavFile(path: string): Int16Array {
  return parseWav(readFileSync(path), path);
}
