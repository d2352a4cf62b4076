/**
 * FSK caller ID end to end on the simulated fxo4 card: the trunk configures its ports for caller ID
 * in the audio (port-config in-audio), the simulated exchange sends the FSK burst in the ringing
 * line's PCM (its own transmitter, hw/sim/caller-id-fsk.ts), and the FxoLine's receiver decodes it:
 * Bell 202 MDMF between the first and second ring, V.23 SDMF before the first ring (ETSI).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard } from '../../../hw/card/serial-card';
import type { LineEvent } from '../../../hw/card/types';
import { runSimulator, type SimulatorHandle } from '../../../hw/sim/run-simulator';
import { decode } from '../../../controller/media/g711';
import { FxoTrunk } from '../../../controller/pstn/analog/fxo-trunk';
import type { FskStandard } from '../../../controller/dsp/fsk-demodulator';
import type { PstnCall } from '../../../controller/pstn/types';
import { makeTempDir } from '../../lib/sim-env';

const LINK = { baudRate: 921600, keepaliveMs: 300, keepaliveMissLimit: 3, reconnectMinMs: 50, reconnectMaxMs: 200 };

function within<T>(p: Promise<T>, what: string, ms = 12000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

for (const fsk of ['bell202', 'v23'] as FskStandard[]) {
  describe(`FXO caller ID in the audio, ${fsk} (integration)`, function () {
    this.timeout(30000);
    let dir: ReturnType<typeof makeTempDir>;
    let sim: SimulatorHandle;
    let card: SerialCard;
    let trunk: FxoTrunk;
    const lineEvents: LineEvent[] = [];

    beforeEach(async () => {
      lineEvents.length = 0;
      dir = makeTempDir(`fxo-cid-${fsk}`);
      sim = await runSimulator({ listen: `unix:${join(dir.path, 'card.sock')}`, script: 'none', log: nullLogger, card: { keepaliveMs: LINK.keepaliveMs, keepaliveMissLimit: LINK.keepaliveMissLimit, seed: 8 } });
      card = new SerialCard({ ...LINK, transport: 'socket', socket: sim.address, log: nullLogger });
      card.on('line', (e) => lineEvents.push(e));
      trunk = new FxoTrunk({
        card,
        clock: systemClock,
        log: nullLogger,
        lineNumbers: {},
        defaultLineNumber: '100',
        ringTimeoutMs: 8000,
        decodePcm: (law, data) => decode(law, data),
        callerIdFsk: fsk,
        configurePort: (cfg) => card.configurePort(cfg),
      });
      trunk.start();
      const up = within(new Promise((resolve) => card.once('link-up', resolve)), 'link-up');
      await card.start();
      await up;
      // The trunk's port-config (in-audio) reaches the card before a call is placed.
      await new Promise((r) => setTimeout(r, 200));
    });

    afterEach(async () => {
      trunk.stop();
      await card.stop();
      await sim.stop();
      dir.cleanup();
    });

    it(`${fsk === 'bell202' ? 'Bell 202 MDMF after the first ring' : 'V.23 SDMF before the first ring'}: the call is offered with the number${fsk === 'bell202' ? ' and name' : ''}, no card-decoded caller-id event`, async () => {
      const incoming = within(new Promise<PstnCall>((resolve) => trunk.once('incoming', resolve)), 'incoming call');
      const script =
        fsk === 'bell202'
          ? { port: 2, callerNumber: '2125550143', callerName: 'SIM CALLER', callerIdFsk: 'bell202' as const, callerIdFormat: 'mdmf' as const, callerIdTiming: 'after-first-ring' as const }
          : { port: 2, callerNumber: '4930123456', callerName: '', callerIdFsk: 'v23' as const, callerIdFormat: 'sdmf' as const, callerIdTiming: 'before-first-ring' as const, ringCadence: 'uk' as const };
      sim.card.placeCall({ ...script, hangup: 'wait-for-host', callerIdDateTime: '11221530' });
      const call = await incoming;
      assert.equal(call.info.callerNumber, script.callerNumber);
      assert.equal(call.info.callerName, script.callerName);
      assert.equal(call.info.trunk, 'port/2');
      const rings = lineEvents.filter((e) => e.kind === 'ring-on').length;
      assert.equal(rings, 1, `offered after ${rings} ring(s): before the second ring`);
      assert.equal(lineEvents.filter((e) => e.kind === 'caller-id').length, 0, 'the card decoded nothing: caller ID came in the audio');
      await call.hangup(16, 'test');
    });
  });
}
