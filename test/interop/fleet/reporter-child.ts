/**
 * Child process for the last-will test: runs a FleetReporter until it is killed and prints
 * `connected <conn>` on each CONNACK. argv: url, state dir, device id.
 */
import { writeSync } from 'node:fs';
import { createFleetHarness } from '../../lib/fleet-harness';

const [url, dir, deviceId] = process.argv.slice(2);
if (!url || !dir || !deviceId) throw new Error('usage: reporter-child <url> <dir> <device id>');
const h = createFleetHarness(url, {}, { willDelayS: 1, sessionExpiryS: 60 }, deviceId, dir);
h.reporter.on('connected', ({ conn }) => writeSync(1, `connected ${conn}\n`));
h.reporter.start();
