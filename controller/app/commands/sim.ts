/**
 * `tonewall sim [--listen unix:/path|tcp:host:port] [--pty PATH] [--script demo|none|FILE]`:
 * the simulated 4-port FXO card on its own, for a daemon or a QEMU guest to connect to.
 */
import { parseArgs } from 'node:util';
import { createLogger, prettySink, jsonSink } from '../../../hw/base/logger';
import { runSimulator } from '../../../hw/sim/run-simulator';
import { waitForSignal } from '../runtime';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: 'tcp:127.0.0.1:7001' },
      pty: { type: 'string' },
      script: { type: 'string', default: 'demo' },
      model: { type: 'string', default: 'fxo4' },
      fault: { type: 'string', multiple: true },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: tonewall sim [--listen unix:/path|tcp:host:port] [--pty PATH] [--script demo|none|FILE.json] [--model fxo4|e1-pri|e1-pri-2|e1-pri-4|t1-pri] [--fault los@10s+5s|dchan:2@30s+20s|crc@5s|reset@1m ...]');
    return 0;
  }
  const level = values['log-level'];
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(level)) {
    console.error(`tonewall sim: --log-level "${level}" is not one of trace, debug, info, warn, error`);
    return 2;
  }
  const model = values.model;
  if (model !== 'fxo4' && model !== 'e1-pri' && model !== 'e1-pri-2' && model !== 'e1-pri-4' && model !== 't1-pri') {
    console.error(`tonewall sim: --model "${model}" is not one of fxo4, e1-pri, e1-pri-2, e1-pri-4, t1-pri`);
    return 2;
  }
  const log = createLogger({ level: level as 'info', sinks: [process.stderr.isTTY ? prettySink(process.stderr) : jsonSink(process.stderr)] });
  let handle;
  try {
    handle = await runSimulator({ listen: values.listen, ...(values.pty ? { pty: values.pty } : {}), script: values.script, log, ...(model !== 'fxo4' ? { card: { model } } : {}), ...(values.fault ? { faults: values.fault } : {}) });
  } catch (err) {
    console.error(`tonewall sim: ${(err as Error).message}`);
    return 1;
  }
  console.log(`simulated card listening on ${handle.address}${handle.ptyPath ? `, pty ${handle.ptyPath}` : ''}`);
  await waitForSignal();
  await handle.stop();
  return 0;
}
