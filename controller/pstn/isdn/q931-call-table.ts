/**
 * The Q.931 call state machine's tables (Q.931 §5.1-5.3, §5.8): state names and numbers, the
 * transition table (state × received message or timer → handler), and which primitives each state allows.
 * The handlers live on Q931Call (q931-call.ts); this file only says which runs when.
 */
import type { Q931Message, Q931MessageType } from './q931-message';
import type { Q931Call } from './q931-call';

export type Q931Side = 'user' | 'network';
export type CallState =
  | 'null'
  | 'out-initiated'
  | 'out-proceeding'
  | 'out-delivered'
  | 'in-present'
  | 'in-proceeding'
  | 'in-received'
  | 'in-connect-request'
  | 'active'
  | 'disconnect-request'
  | 'disconnect-indication'
  | 'release-request';

/** Q.931 §2 call state values reported in the call state IE, [user, network]. */
export const STATE_NUMBERS: Readonly<Record<CallState, readonly [number, number]>> = {
  null: [0, 0],
  'out-initiated': [1, 6],
  'out-proceeding': [3, 9],
  'out-delivered': [4, 7],
  'in-present': [6, 1],
  'in-proceeding': [9, 3],
  'in-received': [7, 4],
  'in-connect-request': [8, 8],
  active: [10, 10],
  'disconnect-request': [11, 12],
  'disconnect-indication': [12, 11],
  'release-request': [19, 19],
};

export type Timer = 'T303' | 'T305' | 'T308' | 'T309' | 'T310' | 'T313';
export type Input = Q931MessageType | Timer;
export type Handler = (call: Q931Call, msg: Q931Message | undefined) => void;

/** Cause values (Q.850) used by the procedures themselves. */
export const CAUSE = { normal: 16, noCircuit: 34, outOfOrder: 27, tempFailure: 41, channelUnacceptable: 6, incompatibleDest: 88, mandatoryMissing: 96, notCompatible: 101, timerExpiry: 102, statusResponse: 30 } as const;

const h = {
  proceeding: (c: Q931Call, m: Q931Message | undefined) => c.onProgressing(m, 'out-proceeding'),
  alerting: (c: Q931Call, m: Q931Message | undefined) => c.onProgressing(m, 'out-delivered'),
  connect: (c: Q931Call, m: Q931Message | undefined) => c.onConnect(m),
  progress: (c: Q931Call, m: Q931Message | undefined) => c.onProgress(m),
  ignore: () => undefined,
};

const CLEARING: Partial<Record<Input, Handler>> = {
  DISCONNECT: (c, m) => c.onDisconnect(m),
  RELEASE: (c, m) => c.onRelease(m),
  'RELEASE COMPLETE': (c, m) => c.onReleaseComplete(m),
  'STATUS ENQUIRY': (c) => c.sendStatus(CAUSE.statusResponse),
  STATUS: (c, m) => c.onStatus(m),
  INFORMATION: h.ignore,
  NOTIFY: h.ignore,
  T309: (c) => c.clearInternally(CAUSE.outOfOrder, 'local', false),
};

/** The transition table: state × input. A message missing here gets STATUS cause 101 (Q.931 §5.8.4). */
export const TABLE: Record<CallState, Partial<Record<Input, Handler>>> = {
  null: {},
  'out-initiated': { ...CLEARING, 'CALL PROCEEDING': h.proceeding, 'SETUP ACKNOWLEDGE': h.proceeding, ALERTING: h.alerting, CONNECT: h.connect, PROGRESS: h.progress, T303: (c) => c.onT303() },
  'out-proceeding': { ...CLEARING, ALERTING: h.alerting, CONNECT: h.connect, PROGRESS: h.progress, T310: (c) => c.clearWithDisconnect(CAUSE.timerExpiry) },
  'out-delivered': { ...CLEARING, CONNECT: h.connect, PROGRESS: h.progress },
  'in-present': { ...CLEARING },
  'in-proceeding': { ...CLEARING },
  'in-received': { ...CLEARING },
  'in-connect-request': { ...CLEARING, 'CONNECT ACKNOWLEDGE': (c) => c.onConnectAck(), T313: (c) => c.clearWithDisconnect(CAUSE.timerExpiry) },
  active: { ...CLEARING, 'CONNECT ACKNOWLEDGE': h.ignore, PROGRESS: h.ignore },
  'disconnect-request': { ...CLEARING, DISCONNECT: (c, m) => c.onDisconnectCollision(m), T305: (c) => c.onT305() },
  'disconnect-indication': { ...CLEARING },
  'release-request': { ...CLEARING, DISCONNECT: h.ignore, RELEASE: (c, m) => c.onReleaseComplete(m), T308: (c) => c.onT308() },
};

export const PRIMITIVES = {
  setup: ['null'],
  proceeding: ['in-present'],
  alerting: ['in-present', 'in-proceeding'],
  connect: ['in-present', 'in-proceeding', 'in-received'],
  progress: ['in-proceeding', 'in-received', 'active'],
} as const satisfies Record<string, readonly CallState[]>;
