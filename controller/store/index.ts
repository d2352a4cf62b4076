/** Public surface of controller/store. */
export { Store, DEFAULT_OUTBOX_MAX_ROWS, type StoreOpenOptions } from './store';
export { Outbox, checkRelativeTopic, type OutboxEvent, type OutboxOptions } from './outbox';
export { Calls, type CallRecord, type CallInsert, type CallPatch, type CallDirection } from './calls';
export { DeviceState } from './device-state';
export { FleetConfigStore, type FleetConfigRecord } from './fleet-config';
export { AuditLog, type AuditEntry, type AuditInput } from './audit';
export { uuidv7, isUuidv7, uuidv7TimeMs } from './uuidv7';
export { findSensitive, describeFinding, isForbiddenKey, FORBIDDEN_KEYS, type SensitiveFinding } from './sensitive-scan';
export type { JsonValue, JsonObject, JsonPrimitive } from './json';
export { MIGRATIONS, LATEST_SCHEMA_VERSION, migrate, schemaVersion, type Migration } from './migrations';
export { openStoreFromConfig, storePath } from './open-from-config';
