/**
 * Child process for crash-safety.test.ts: appends call rows and their outbox events in transactions
 * as fast as it can and writes `committed <n>` to stdout after each commit, until it is killed.
 * argv[2] = database path.
 */
import { writeSync } from 'node:fs';
import { nullLogger } from '../../../hw/base/logger';
import { Store } from '../../../controller/store/store';

const path = process.argv[2];
if (!path) throw new Error('usage: crash-writer-child <db path>');
const store = Store.open({ path, log: nullLogger });
let n = 0;
// Continue numbering after the rows earlier children committed.
while (store.calls.get(`c-${n}`)) n++;
writeSync(1, 'ready\n');
for (;;) {
  const k = n++;
  store.transaction(() => {
    store.calls.insert({ callId: `c-${k}`, direction: 'in', state: 'active', startedMs: Date.now() });
    store.outbox.append('events/call', { callId: `c-${k}`, part: 1 });
    store.outbox.append('events/call', { callId: `c-${k}`, part: 2 });
  });
  writeSync(1, `committed ${k}\n`);
}
