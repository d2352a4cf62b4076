/**
 * tshark (Wireshark's LAPD and Q.931 dissectors) reads the frames our user and network sides exchange,
 * written to a LINUX_LAPD (DLT 177) pcap: every frame decodes, none is malformed, and the decoded
 * fields are the ones we meant (message types, call reference, numbers, channel, causes, restart class).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeQ931 } from '../../../controller/pstn/isdn/q931-message';
import { requirePeer } from '../../lib/dsp-peers';
import { IsdnPair } from '../../lib/isdn-pair';
import { hasTshark, tsharkFields, writeLapdPcap } from '../../lib/isdn-pcap';

describe('tshark decodes our LAPD and Q.931 frames', function () {
  this.timeout(30_000);
  let dir = '';

  beforeEach(function () {
    requirePeer(this, hasTshark(), 'tshark');
    dir = mkdtempSync(join(tmpdir(), 'tonewall-isdn-tshark-'));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a whole call, STATUS ENQUIRY, RESTART and a lost frame: no malformed packet, fields as sent', async () => {
    const p = new IsdnPair();
    p.up();
    const offered: import('../../../controller/pstn/types').PstnCall[] = [];
    p.user.on('incoming', (c) => offered.push(c));
    p.network.placeCall({ called: '5551234', calling: '5559876', callingName: 'Alice', channel: 3 });
    p.flush();
    const call = offered[0];
    assert.ok(call);
    const answered = call.answer();
    p.flush();
    await answered;
    p.network.lapd.send(encodeQ931({ callRef: { length: 2, flag: false, value: 1 }, type: 'STATUS ENQUIRY', ies: [] }));
    p.flush();
    let dropped = false;
    p.drop = (f) => (!dropped && f.from === 'user' ? (dropped = true) : false);
    const hung = call.hangup(17, 'busy');
    p.run(3000);
    await hung;
    p.network.restart([3]);
    p.flush();

    const file = join(dir, 'ours.pcap');
    writeLapdPcap(file, p.frames.map((f) => ({ sent: f.from === 'user', frame: f.frame, atMs: f.atMs })), false);
    assert.deepEqual(tsharkFields(file, '_ws.malformed || _ws.expert.severity >= "error"', ['frame.number']), []);
    assert.equal(tsharkFields(file, 'lapd', ['frame.number']).length, p.frames.length);

    const msgs = tsharkFields(file, 'q931', ['q931.message_type', 'q931.call_ref', 'q931.call_ref_flag']).map(([t, ref, flag]) => `${t}/${ref}/${flag}`);
    assert.deepEqual(
      [...new Set(msgs)],
      ['0x05/0001/0', '0x02/0001/1', '0x01/0001/1', '0x07/0001/1', '0x0f/0001/0', '0x75/0001/0', '0x7d/0001/1', '0x45/0001/1', '0x4d/0001/0', '0x5a/0001/1', '0x46/0000/0', '0x4e/0000/1'],
    );
    const [setup] = tsharkFields(file, 'q931.message_type == 0x05', ['q931.calling_party_number.digits', 'q931.called_party_number.digits', 'q931.channel.number', 'q931.channel.exclusive', 'lapd.direction']);
    assert.deepEqual(setup, ['5559876', '5551234', '3', '1', '1']);
    assert.deepEqual(tsharkFields(file, 'q931.message_type == 0x45', ['q931.cause_value']), [['17'], ['17']], 'DISCONNECT lost once and sent again by LAPD');
    assert.deepEqual(tsharkFields(file, 'q931.message_type == 0x7d', ['q931.cause_value', 'q931.call_state']), [['30', '0x0a']]);
    assert.deepEqual(tsharkFields(file, 'q931.message_type == 0x46', ['q931.restart_indicator', 'q931.channel.number']), [['0x00', '3']]);
    // Q.921 §5.6.2: the lost DISCONNECT went again after T200 as an I frame with P=1, same N(S).
    // tshark shows the two control octets as one little-endian value: P is bit 8.
    const disconnects = tsharkFields(file, 'q931.message_type == 0x45', ['lapd.control.n_s', 'lapd.control']);
    assert.deepEqual(disconnects.map(([ns]) => ns), [disconnects[0]?.[0], disconnects[0]?.[0]]);
    assert.deepEqual(disconnects.map(([, control]) => (Number(control) >> 8) & 1), [0, 1], JSON.stringify(disconnects));
  });
});
