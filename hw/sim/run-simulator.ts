/**
 * `tonewall sim` and the in-process demo card: a SimCard behind a socket server, optionally a pty
 * (socat) in front of it, and the call scheduler playing a script.
 *
 *   runSimulator({ listen: 'unix:/run/tonewall/card.sock', pty: '/run/tonewall/card-pty', script: 'demo', log })
 *
 * The driver then opens the pty path with the serial transport, or connects to `address` with the
 * socket transport.
 */
import { systemClock, type Clock } from '../base/clock';
import type { Logger } from '../base/logger';
import { loadCallScriptFile, type CallScript } from './call-script';
import { CallScheduler, type DemoScheduleOptions } from './call-scheduler';
import { PtyBridge } from './pty-bridge';
import { SimCard, type SimCardOptions } from './sim-card';
import { FaultPlan, parseFault } from './fault-plan';
import { SimServer } from './sim-server';

export interface RunSimulatorOptions {
  /** `unix:/path` or `tcp:HOST:PORT` (PORT 0: any free port; see handle.address). */
  listen: string;
  /** Also make a pty at this path (needs socat). */
  pty?: string;
  /** 'demo': a call every demo.intervalMs; 'none': no calls; a path: a JSON call script file; or scripts. */
  script: string | readonly CallScript[];
  log: Logger;
  clock?: Clock;
  demo?: Partial<Omit<DemoScheduleOptions, 'ports'>>;
  /** Card options (model, keepalive, supervision, seed, TDM clock …). */
  card?: Omit<SimCardOptions, 'log' | 'clock'>;
  /** Scheduled faults (fault-plan.ts syntax: `los@10s+5s`, `dchan:2@30s+20s`, `reset@1m`). */
  faults?: readonly string[];
}

export interface SimulatorHandle {
  readonly card: SimCard;
  /** The address the simulator listens on (real port when 0 was asked for). */
  readonly address: string;
  /** The pty path the driver should open, when `pty` was given. */
  readonly ptyPath: string | undefined;
  stop(): Promise<void>;
}

export async function runSimulator(options: RunSimulatorOptions): Promise<SimulatorHandle> {
  const clock = options.clock ?? systemClock;
  const log = options.log.child('sim');
  // Load the script first: a bad file fails before anything listens.
  const scripts = typeof options.script === 'string' ? (options.script === 'demo' || options.script === 'none' ? [] : loadCallScriptFile(options.script)) : options.script;
  // Faults parse before anything starts, like the script.
  const faultSpecs = (options.faults ?? []).map(parseFault);
  const card = new SimCard({ ...options.card, log: options.log, clock });
  const faults = new FaultPlan(card, clock, log, faultSpecs);
  const server = new SimServer({ listen: options.listen, log: options.log, onConnection: (socket) => card.attach(socket) });
  const scheduler = new CallScheduler(card, clock, log);
  let bridge: PtyBridge | undefined;
  card.start();
  try {
    await server.start();
    if (options.pty) {
      bridge = new PtyBridge({ ptyPath: options.pty, connectTo: server.address, log: options.log });
      await bridge.start();
    }
  } catch (err) {
    card.stop();
    await bridge?.stop();
    await server.stop();
    throw err;
  }
  if (options.script === 'demo') scheduler.runDemo(demoOptions(card, options.demo));
  else scheduler.runScripts(scripts);
  faults.start();
  log.info('simulator running', { address: server.addressText, pty: options.pty, script: typeof options.script === 'string' ? options.script : `${scripts.length} calls` });
  return {
    card,
    address: server.addressText,
    ptyPath: options.pty,
    async stop() {
      faults.stop();
      scheduler.stop();
      await bridge?.stop();
      card.stop();
      await server.stop();
    },
  };
}

function demoOptions(card: SimCard, d: RunSimulatorOptions['demo']): DemoScheduleOptions {
  return {
    // A PRI card's demo calls go to its spans (the scheduler's "port" is the span there).
    ports: card.info.ports.length > 0 ? card.info.ports.map((p) => p.port) : card.info.spans.map((s) => s.span),
    intervalMs: d?.intervalMs ?? 15000,
    callDurationMs: d?.callDurationMs ?? 8000,
    callerNumber: d?.callerNumber ?? '5551234567',
    callerName: d?.callerName ?? 'TONEWALL DEMO',
    ...(d?.firstCallMs !== undefined ? { firstCallMs: d.firstCallMs } : {}),
    ...(d?.keys !== undefined ? { keys: d.keys } : {}),
  };
}
