import assert from 'node:assert/strict';
import { demoCall, parseCallScript, parseCallScriptFile, RING_CADENCES } from '../../../hw/sim/call-script';
import { parseWav } from '../../../hw/sim/wav-file';
import { parseSimAddress } from '../../../hw/sim/sim-address';

describe('sim call script format', () => {
  it('fills defaults: US cadence, 6 rings, caller hangs up', () => {
    const s = parseCallScript({ port: 1, callerNumber: '5551234567' });
    assert.equal(s.ringCadence, 'us');
    assert.equal(s.answerTimeoutRings, 6);
    assert.equal(s.hangup, 'caller');
    assert.deepEqual(s.audio, []);
  });

  it('reports every problem with its path, without echoing key digits', () => {
    assert.throws(
      () => parseCallScript({ port: 0, callerNumber: 'abc', audio: [{ keys: '41111111x1111111' }], ringCadence: [100] }),
      (err: Error) =>
        /port/.test(err.message) && /callerNumber/.test(err.message) && /audio\.0/.test(err.message) && /ringCadence/.test(err.message) && !err.message.includes('4111'),
    );
  });

  it('loads a file as a list or as {calls}', () => {
    const one = { port: 2, callerNumber: '1', audio: [{ speech: 100 }, { wav: '/x.wav' }, { silence: 50 }, { keys: '12#', toneMs: 80 }] };
    assert.equal(parseCallScriptFile([one], 'f.json').length, 1);
    assert.equal(parseCallScriptFile({ calls: [one, one] }, 'f.json').length, 2);
    assert.throws(() => parseCallScriptFile({ calls: [{ ...one, extra: 1 }] }, 'f.json'), /f\.json: calls\.0/);
  });

  it('demo: calls rotate over the ports with talk, keys and a caller hang-up', () => {
    const opts = { ports: [1, 2, 3, 4], callDurationMs: 8000, callerNumber: '5551234567', callerName: 'DEMO' };
    const calls = [0, 1, 2, 3, 4].map((i) => demoCall(i, opts));
    assert.deepEqual(
      calls.map((c) => c.port),
      [1, 2, 3, 4, 1],
    );
    const c = calls[0];
    assert.ok(c);
    assert.deepEqual(
      c.audio.map((a) => Object.keys(a)[0]),
      ['speech', 'keys', 'speech'],
    );
    assert.equal(c.hangup, 'caller');
    assert.deepEqual(RING_CADENCES.us, [2000, 4000]);
  });
});

describe('sim WAV reader and addresses', () => {
  function wav(channels: number, rate: number, samples: number[]): Buffer {
    const data = Buffer.alloc(samples.length * 2);
    samples.forEach((s, i) => data.writeInt16LE(s, i * 2));
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'ascii');
    h.writeUInt32LE(36 + data.length, 4);
    h.write('WAVEfmt ', 8, 'ascii');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(channels, 22);
    h.writeUInt32LE(rate, 24);
    h.writeUInt32LE(rate * 2 * channels, 28);
    h.writeUInt16LE(2 * channels, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36, 'ascii');
    h.writeUInt32LE(data.length, 40);
    return Buffer.concat([h, data]);
  }

  it('reads 16-bit mono 8 kHz PCM', () => {
    assert.deepEqual([...parseWav(wav(1, 8000, [1, -2, 300]))], [1, -2, 300]);
  });

  it('refuses other formats naming what it found and what it expects', () => {
    assert.throws(() => parseWav(wav(2, 44100, [1, 2])), /2 channel\(s\), 44100 Hz.*expected PCM \(1\), 1 channel, 8000 Hz, 16 bit/);
    assert.throws(() => parseWav(Buffer.from('not a wav file at all')), /not a RIFF\/WAVE/);
  });

  it('parses unix: and tcp: addresses and refuses others', () => {
    assert.deepEqual(parseSimAddress('unix:/tmp/a.sock'), { kind: 'unix', path: '/tmp/a.sock' });
    assert.deepEqual(parseSimAddress('tcp:127.0.0.1:0'), { kind: 'tcp', host: '127.0.0.1', port: 0 });
    assert.throws(() => parseSimAddress('tcp:127.0.0.1:70000'), /port 70000 exceeds 65535/);
    assert.throws(() => parseSimAddress('/tmp/a.sock'), /expected unix:\/path or tcp:HOST:PORT/);
  });
});
