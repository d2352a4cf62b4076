/** The card link codec: one import for the driver (hw/card) and the simulator (hw/sim). */
export * from './messages';
export * from './codec';
export * from './crc';
export * from './sequence-tracker';
export { LinkPayloadError } from './byte-io';
export { encodePayload, decodePayload } from './payload-codec';
