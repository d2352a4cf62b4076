/** The simulated telephony card (DESIGN.md §3 hw/sim): one import for tests, the app and the CLI. */
export { runSimulator, type RunSimulatorOptions, type SimulatorHandle } from './run-simulator';
export { SimCard, type SimCardEvents, type SimCardOptions, type SimLinkState } from './sim-card';
export { PlayoutBuffer } from './playout-buffer';
export { SimServer } from './sim-server';
export { PtyBridge, socatAvailable } from './pty-bridge';
export { CallScheduler, type DemoScheduleOptions } from './call-scheduler';
export { parseSimAddress, formatSimAddress, type SimAddress } from './sim-address';
export { PstnCall, type CalleeScript, type CallEndReason, type DisconnectSupervision, type PstnCallState } from './pstn-call';
export { RING_CADENCES, callScriptSchema, demoCall, loadCallScriptFile, parseCallScript, parseCallScriptFile, type AudioItem, type CallScript, type CallScriptInput } from './call-script';
export { DriftCorrectedTdmClock, TICK_MS, type TdmClock } from './tdm-clock';
export { synthesizeSpeech } from './speech-synth';
export { SeededRandom } from './seeded-random';
export { SimPriSpan, CAUSE_NORMAL_CLEARING } from './sim-pri-span';
export { PRI_MODELS, isPriModel, priModel, spanConfigProblem, type PriModel, type PriModelName } from './sim-pri-models';
