/**
 * End to end per card model, PSTN → SIP: the whole appliance with its simulated card (t1-pri, span 2
 * of e1-pri-2, and fxo4 with FSK caller ID in the audio) calls sipp (UAS, RTP echo) as the contact
 * center. Checked: the INVITE went out with the caller's number (the call record), the call was
 * answered and ended by the caller with 16, and the caller heard its own speech back through sipp's
 * echo (card → uplink → RTP → sipp → RTP → downlink → card). SIP → PSTN per model is in
 * test/interop/sip/sipp-dialog-pstn.test.ts (e1-pri) and the trunk tests (fxo4, e1-pri-2).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { parseCallScript, type CallScriptInput } from '../../../hw/sim/call-script';
import { Appliance } from '../../../controller/app/appliance';
import type { CallRecord } from '../../../controller/call/call';
import { parseConfig } from '../../../controller/config/load';
import type { CompandingLaw } from '../../../controller/media/g711';
import { startMosquitto, mosquittoOrSkip, type Mosquitto } from '../../lib/mosquitto';
import { makeTempDir, requirePeer, startSippUas, stopChild, type SippRun } from '../../lib/sip-peers';
import { bestMatch, loudestWindow } from '../../lib/audio-match';

interface ModelCase {
  model: 'fxo4' | 't1-pri' | 'e1-pri-2';
  law: CompandingLaw;
  script: CallScriptInput;
  analog?: Record<string, unknown>;
}

const CASES: ModelCase[] = [
  { model: 't1-pri', law: 'ulaw', script: { span: 1, called: '8005550100', callerNumber: '2125550143' } },
  { model: 'e1-pri-2', law: 'alaw', script: { span: 2, called: '8002', callerNumber: '4930123456' } },
  { model: 'fxo4', law: 'ulaw', script: { port: 3, callerNumber: '5551234567', callerName: 'FSK CALLER', ringCadence: [400, 1600] }, analog: { callerId: 'bell202' } },
];

for (const c of CASES) {
  describe(`end to end, ${c.model}: simulated PSTN call → appliance → sipp with audio both ways`, function () {
    this.timeout(90_000);
    let broker: Mosquitto;
    let sipp: SippRun;
    let app: Appliance;
    let dir: string;
    const records: CallRecord[] = [];
    const sink = memorySink(50_000);

    before(async function () {
      mosquittoOrSkip(this);
      requirePeer(this, 'sipp');
      dir = makeTempDir(`e2e-${c.model}`);
      broker = await startMosquitto();
      sipp = await startSippUas({ scenario: { builtin: 'uas' }, rtpEcho: true });
      const config = parseConfig({
        device: { id: `tw-e2e-${c.model}`, stateDir: join(dir, 'state') },
        card: { sim: { enabled: true, transport: 'socket', script: 'none', model: c.model } },
        sip: { bindPort: 0, rtpPortMin: 33000, rtpPortMax: 33999, contactCenterUri: `sip:{called}@127.0.0.1:${sipp.sipPort}`, codecs: ['PCMU'], demoEndpoint: { enabled: false } },
        mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
        ...(c.analog ? { pstn: { analog: c.analog } } : {}),
      });
      const script = parseCallScript({ ...c.script, audio: [{ speech: 3000 }], hangup: 'caller', seed: 11, atMs: c.model === 'fxo4' ? 500 : 0 });
      app = new Appliance({ config, log: createLogger({ level: 'debug', sinks: [sink] }), simScript: [script] });
      app.on('call', (record) => records.push({ ...record }));
      await app.start();
      const deadline = Date.now() + 60_000;
      while (!records.some((r) => r.state === 'ended')) {
        if (Date.now() > deadline) throw new Error(`no ended call within 60 s; sipp:\n${sipp.output()}\nlog tail:\n${sink.lines.slice(-40).join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    after(async () => {
      await app?.stop('test done');
      if (sipp) await stopChild(sipp.child);
      await broker?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the call reached SIP with the caller\'s number, was answered, and the caller\'s hang-up ended it with 16', () => {
      const ended = records.find((r) => r.state === 'ended');
      assert.ok(ended);
      assert.equal(ended.callerNumber, c.script.callerNumber);
      if (c.model === 'fxo4') assert.equal(ended.callerName, 'FSK CALLER', 'the name came from the Bell 202 MDMF in the line audio');
      assert.equal(ended.endBy, 'pstn', JSON.stringify(ended));
      assert.equal(ended.q850, 16);
      assert.ok(records.some((r) => r.state === 'active'), 'answered');
      assert.equal(ended.trunk, c.model === 'fxo4' ? 'port/3' : `span/${c.script.span ?? 1}`);
    });

    it('the caller heard its own speech back through sipp\'s echo', () => {
      const call = app.sim?.card.calls.find((x) => x.direction === 'inbound');
      assert.ok(call, 'the simulator kept the call');
      // The loudest 100 ms of the caller's speech (a quiet window would match any silence).
      const { window, meanPower } = loudestWindow(c.law, call.sent());
      assert.equal(window.length, 800);
      assert.ok(meanPower > 100 ** 2, 'the window is speech, not silence');
      const match = bestMatch(c.law, call.heard(), window);
      assert.ok(match > 0.98, `a 100 ms window of the caller's speech came back (best correlation ${match.toFixed(3)}, heard ${call.heard().length} bytes)`);
    });
  });
}
