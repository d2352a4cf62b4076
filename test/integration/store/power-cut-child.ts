/**
 * Child for the power-cut test (test/lib/fleet-power-cut.ts): the real FleetReporter publishing to
 * mosquitto while this loop commits outbox events (1-4 per transaction, with a call row each time
 * so the transaction spans tables) as fast as the disk allows. After each COMMIT returns it writes
 * `committed <seq> <id>` per event to stdout (synchronously: a line on stdout means the commit was
 * acknowledged), and `ready` once the broker session is up. Runs until SIGKILLed.
 * argv: broker url, state dir, device id.
 */
import { writeSync } from 'node:fs';
import { createFleetHarness } from '../../lib/fleet-harness';

const [url, dir, deviceId] = process.argv.slice(2);
if (!url || !dir || !deviceId) throw new Error('usage: power-cut-child <url> <state dir> <device id>');
const h = createFleetHarness(url, { pollMs: 50 }, { willDelayS: 0, sessionExpiryS: 60 }, deviceId, dir);
let n = 0;
while (h.store.calls.get(`pc-${process.pid}-${n}`)) n++;

function commitSome(): void {
  const count = 1 + (n % 4);
  const k = n++;
  const events = h.store.transaction(() => {
    h.store.calls.insert({ callId: `pc-${process.pid}-${k}`, direction: 'in', state: 'active', startedMs: Date.now() });
    return Array.from({ length: count }, (_, i) => h.store.outbox.append(i % 2 ? 'events/pay' : 'events/call', { k, i, pid: process.pid }));
  });
  writeSync(1, events.map((e) => `committed ${e.seq} ${e.id}\n`).join(''));
  h.reporter.kick();
  setImmediate(commitSome);
}

h.reporter.once('connected', () => writeSync(1, 'ready\n'));
h.reporter.start();
commitSome();
