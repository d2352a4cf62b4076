/**
 * The CallRecorder the call manager reports to: each change commits the CDR row and its
 * `events/call` outbox event in ONE SQLite transaction (DESIGN.md §2 "Reporting"), then asks the
 * fleet reporter to send it and updates the retained `calls/{callId}` snapshot (cleared at the end).
 *
 * Numbers stay out of MQTT (DESIGN.md §6: omitted by default); the CDR keeps them.
 */
import type { Logger } from '../../hw/base/logger';
import type { CallEventType, CallRecord, CallRecorder } from '../call/call';
import type { CallSnapshotBody, CallSnapshotState } from '../fleet/topics';
import type { Store } from '../store/store';

export interface FleetSink {
  kick(): void;
  setCallSnapshot(callId: string, snapshot: CallSnapshotBody | null): void;
}

const SNAPSHOT_STATE: Record<CallRecord['state'], CallSnapshotState> = {
  inviting: 'setup',
  alerting: 'ringing',
  connecting: 'setup',
  active: 'active',
  ending: 'ending',
  ended: 'ending',
};

function eventData(r: Readonly<CallRecord>, event: CallEventType) {
  const base = { callId: r.callId, dir: r.direction === 'outbound' ? 'out' : 'in', trunk: r.trunk, port: r.port, chan: r.channel, sipCallId: r.sipCallId };
  if (event === 'call.started') return { ...base, startedAt: r.startedMs };
  if (event === 'call.answered') return { ...base, codec: r.codec, answeredAt: r.answeredMs };
  return {
    ...base,
    durationMs: r.answeredMs !== null && r.endedMs !== null ? r.endedMs - r.answeredMs : 0,
    answered: r.answeredMs !== null,
    endBy: r.endBy,
    q850: r.q850,
    sipStatus: r.sipStatus,
    reason: r.endReason,
  };
}

export function storeCallRecorder(opts: { store: Store; fleet: FleetSink; log: Logger }): CallRecorder {
  const { store, fleet, log } = opts;
  return {
    changed(r, event) {
      try {
        store.transaction(() => {
          if (event === 'call.started') {
            store.calls.insert({
              callId: r.callId,
              direction: r.direction === 'outbound' ? 'out' : 'in',
              state: r.state,
              startedMs: r.startedMs,
              port: r.port,
              channel: r.channel,
              callerNumber: r.callerNumber || null,
              calledNumber: r.calledNumber || null,
              sipCallId: r.sipCallId,
            });
          } else {
            store.calls.update(r.callId, {
              state: r.state,
              sipCallId: r.sipCallId,
              answeredMs: r.answeredMs,
              endedMs: r.endedMs,
              endCause: r.endReason,
              endBy: r.endBy,
              q850: r.q850,
              sipStatus: r.sipStatus,
            });
          }
          store.outbox.append('events/call', eventData(r, event), event);
        });
      } catch (err) {
        log.error('call record not persisted', { callId: r.callId, event, err });
      }
      fleet.kick();
      fleet.setCallSnapshot(
        r.callId,
        event === 'call.ended'
          ? null
          : { callId: r.callId, state: SNAPSHOT_STATE[r.state], dir: r.direction === 'outbound' ? 'out' : 'in', port: r.port, chan: r.channel, trunk: r.trunk, startedAt: r.startedMs, payActive: false },
      );
    },
  };
}
