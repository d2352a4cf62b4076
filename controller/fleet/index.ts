/** Public surface of controller/fleet. */
export { FleetReporter, CONN_COUNTER_KEY, type FleetReporterOptions, type FleetMetrics, type FleetReporterEvents } from './reporter';
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker';
export type { MqttConnectFn } from './connection';
export type { MqttProtocolVersion } from './connect-options';
export * from './topics';
export type { Envelope, Enveloped } from './envelope';
export { PublishGuard } from './publish-guard';
export { backoffDelayMs } from './backoff';
export { createFleetRpc, RpcServer, callRpc, registerBuiltins, canonicalRequest, signRequest, type FleetRpcOptions, type RpcMethod, type RpcOutcome, type RpcContext, type RpcReplyBody, type RpcReply, type CallRpcOptions } from './rpc';
