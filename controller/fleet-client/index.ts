/** Public surface of controller/fleet-client: the fleet side of the MQTT API (`tonewall fleet`, tests). */
export { PresenceTracker, presenceInput, type DevicePresence, type PresenceInput, type PresenceState } from './presence';
export { connectFleet, fleetClientOptions, type FleetConnectOptions } from './connect';
export { readRetained, topicMatches, barrierTopic, type RetainedMessage } from './retained';
export { listFleet, formatFleetTable, deviceTopic, type FleetRow } from './fleet-list';
export { watchFleet, watchLine, watchFilter, type WatchLine, type WatchOptions } from './watch';
export { pushConfig, type ConfigPushOptions, type ConfigPushResult } from './config-push';
