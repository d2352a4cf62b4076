/**
 * The appliance's PaymentsService on a temp SQLite store, with a recording fleet side and real
 * UplinkDsp uplinks per call: the same objects appliance.ts wires, without the card or SIP.
 * `feed` pushes linear audio through a call's uplink in 20 ms blocks, encodes it like the RTP
 * packetiser and hands every payload to the service's second check, recording what left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../hw/base/clock';
import { createLogger, memorySink } from '../../hw/base/logger';
import { PaymentsService } from '../../controller/app/payments';
import { paymentsSchema } from '../../controller/config/schema';
import type { UplinkDsp } from '../../controller/dsp/uplink-dsp';
import type { AlarmBody, PaySnapshotBody } from '../../controller/fleet/topics';
import { decode } from '../../controller/media/g711';
import { Store } from '../../controller/store/store';
import { pushThrough } from './secure-caller';

/** Ids (UUIDv4/v7) hold 4-digit groups that would match a short secret such as an expiry. */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export interface ServiceRig {
  service: PaymentsService;
  store: Store;
  dir: string;
  sink: ReturnType<typeof memorySink>;
  /** Every retained `pay/{id}` write (null: cleared) and alarm, in order. */
  retained: { sessionId: string; snapshot: PaySnapshotBody | null }[];
  alarms: { alarmId: string; alarm: AlarmBody | null }[];
  /** Every update the service handed out (what SIP INFO sends). */
  updates: { snapshot: PaySnapshotBody; final: boolean }[];
  uplink(callId: string): UplinkDsp;
  /** Pushes audio through the call's uplink; returns what left (the µ-law payloads, decoded). */
  feed(callId: string, audio: Int16Array): Int16Array;
  /** The next ended snapshot (of any session). */
  nextEnd(): Promise<PaySnapshotBody>;
  /** Every text the fleet, the outbox, the updates and the log saw (for card-data scans), ids blanked. */
  texts(): string[];
  close(): Promise<void>;
}

export async function startPaymentsService(payments: Record<string, unknown>, clock: Clock = systemClock): Promise<ServiceRig> {
  const dir = mkdtempSync(join(tmpdir(), 'tonewall-pay-service-'));
  const sink = memorySink();
  const log = createLogger({ level: 'debug', sinks: [sink] });
  const store = Store.open({ path: join(dir, 'db.sqlite'), log, clock });
  const retained: ServiceRig['retained'] = [];
  const alarms: ServiceRig['alarms'] = [];
  const updates: ServiceRig['updates'] = [];
  const waiters: ((s: PaySnapshotBody) => void)[] = [];
  const service = new PaymentsService({
    config: paymentsSchema.parse(payments),
    stateDir: dir,
    store,
    fleet: {
      kick: () => undefined,
      setPaySnapshot: (sessionId, snapshot) => void retained.push({ sessionId, snapshot }),
      setAlarm: (alarmId, alarm) => void alarms.push({ alarmId, alarm }),
    },
    log,
    clock,
  });
  service.onUpdate((snapshot, final) => {
    updates.push({ snapshot, final });
    if (final) waiters.shift()?.(snapshot);
  });
  await service.start();
  const uplinks = new Map<string, UplinkDsp>();
  const uplink = (callId: string): UplinkDsp => {
    let dsp = uplinks.get(callId);
    if (!dsp) {
      dsp = service.uplinkFor(callId);
      uplinks.set(callId, dsp);
    }
    return dsp;
  };
  return {
    service,
    store,
    dir,
    sink,
    retained,
    alarms,
    updates,
    uplink,
    feed(callId, audio) {
      const out = new Int16Array(audio.length);
      let o = 0;
      pushThrough(uplink(callId), audio, (payload) => {
        service.observe(callId, payload, 'ulaw');
        out.set(decode('ulaw', payload), o);
        o += payload.length;
      });
      return out;
    },
    nextEnd: () => new Promise((ok) => waiters.push(ok)),
    texts: () =>
      [
        ...sink.lines,
        ...retained.map((r) => JSON.stringify(r)),
        ...alarms.map((a) => JSON.stringify(a)),
        ...updates.map((u) => JSON.stringify(u)),
        ...store.outbox.pending(100_000).map((e) => JSON.stringify(e)),
      ].map((t) => t.replace(UUID, '<uuid>')),
    async close() {
      await service.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
