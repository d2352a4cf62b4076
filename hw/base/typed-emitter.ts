/**
 * A typed EventEmitter: `TypedEmitter<{ frame: [Frame]; error: [Error] }>`.
 * Node 20's @types/node EventEmitter is generic over an event map, so this is only a named alias
 * that fixes the map shape (event name -> argument tuple) used across tonewall.
 */
import { EventEmitter } from 'node:events';

export type EventMap = Record<string, unknown[]>;

export class TypedEmitter<M extends { [K in keyof M]: unknown[] }> extends EventEmitter<M> {}
