import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nullLogger } from '../../../hw/base/logger';
import { decodeLapdFrame, encodeLapdFrame } from '../../../controller/pstn/isdn/lapd-frame';
import { encodeQ931, MESSAGE_TYPES, type Q931MessageType } from '../../../controller/pstn/isdn/q931-message';
import type { Q931Ie } from '../../../controller/pstn/isdn/q931-ie';
import { PriSpan } from '../../../controller/pstn/isdn/pri-span';
import { SWITCH_VARIANTS } from '../../../controller/pstn/isdn/switch-variant';
import type { Q931Side } from '../../../controller/pstn/isdn/q931-call';
import type { PstnCall } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

/**
 * A scripted peer that speaks correct LAPD but sends any Q.931 message in any order: the span must
 * never throw, no B channel may be busy without a live call holding it, and a RESTART returns them all.
 */
describe('PRI span against a peer sending arbitrary Q.931 sequences (property)', () => {
  for (const side of ['user', 'network'] as Q931Side[]) {
    it(`${side} side: no exception, and every channel idle once the timers have run`, () => {
      const ies: fc.Arbitrary<Q931Ie[]> = fc.subarray([
        { id: 'bearer-capability', capability: 0, modeRate: 0x90, layer1: 3 },
        { id: 'channel-id', exclusive: true, selection: 'indicated', channels: [1], dChannel: false },
        { id: 'channel-id', exclusive: false, selection: 'indicated', channels: [2], dChannel: false },
        { id: 'restart-indicator', restartClass: 0 },
        { id: 'progress', location: 2, description: 8 },
        { id: 'cause', location: 2, value: 16, diagnostics: Buffer.alloc(0) },
        { id: 'call-state', value: 0 },
        { id: 'called-number', typeOfNumber: 0, numberingPlan: 1, digits: '100' },
      ] as Q931Ie[]);
      const msg = fc.record({
        type: fc.constantFrom(...(Object.keys(MESSAGE_TYPES) as Q931MessageType[])),
        value: fc.integer({ min: 0, max: 3 }),
        flag: fc.boolean(),
        ies,
        advanceMs: fc.constantFrom(0, 0, 0, 5000, 40_000),
      });
      fc.assert(
        fc.property(fc.array(msg, { maxLength: 25 }), fc.boolean(), (script, weCall) => {
          const clock = new ManualClock();
          let peerVr = 0;
          let peerVs = 0;
          const span = new PriSpan({
            span: 1,
            side,
            variant: SWITCH_VARIANTS.etsi,
            clock,
            log: nullLogger,
            sendFrame: (bytes) => {
              // The peer's LAPD: UA to SABME, RR to every I frame, so Q.931 is all that varies.
              const f = decodeLapdFrame(bytes);
              if (f.control.format === 'U' && f.control.kind === 'SABME') {
                peerVr = 0;
                peerVs = 0;
                queue.push(encodeLapdFrame({ sapi: 0, cr: side === 'user' ? 1 : 0, tei: 0, control: { format: 'U', kind: 'UA', pf: true }, info: Buffer.alloc(0) }));
              } else if (f.control.format === 'I') {
                peerVr = (f.control.ns + 1) % 128;
                queue.push(encodeLapdFrame({ sapi: 0, cr: side === 'user' ? 1 : 0, tei: 0, control: { format: 'S', kind: 'RR', nr: peerVr, pf: f.control.p }, info: Buffer.alloc(0) }));
              }
            },
          });
          const queue: Buffer[] = [];
          const flush = () => {
            for (let n = 0; queue.length > 0 && n < 1000; n++) {
              const b = queue.shift();
              if (b) span.receiveFrame(b);
            }
          };
          span.start();
          flush();
          assert.ok(span.dchannelUp);
          const calls: PstnCall[] = [];
          span.on('incoming', (c) => {
            calls.push(c);
            void c.answer().catch(() => undefined);
          });
          if (weCall) calls.push(span.placeCall({ called: '1', calling: '2' }));
          flush();
          for (const m of script) {
            const info = encodeQ931({ callRef: { length: 2, flag: m.flag, value: m.value }, type: m.type, ies: m.ies });
            queue.push(encodeLapdFrame({ sapi: 0, cr: side === 'user' ? 1 : 0, tei: 0, control: { format: 'I', ns: peerVs, nr: peerVr, p: false }, info }));
            peerVs = (peerVs + 1) % 128;
            flush();
            clock.advance(m.advanceMs);
            flush();
          }
          // Let every Q.931 timer run out (T305 30 s + T308 2 × 4 s + RESTART); then nothing may stay busy.
          for (let t = 0; t < 60; t++) {
            clock.advance(1000);
            flush();
          }
          // No leaked channel: every busy channel is held by a call that is still up, and the other way round.
          const busy = span.channelStates().filter((c) => c.state === 'busy').map((c) => c.channel);
          const held = calls.filter((c) => c.state !== 'null').map((c) => c.info.channel);
          assert.deepEqual([...busy].sort((a, b) => a - b), [...new Set(held)].sort((a, b) => a - b));
          // RESTART of the interface returns everything, maintenance included.
          span.restart('all');
          queue.push(encodeLapdFrame({ sapi: 0, cr: side === 'user' ? 1 : 0, tei: 0, control: { format: 'I', ns: peerVs, nr: peerVr, p: false }, info: encodeQ931({ callRef: { length: 2, flag: true, value: 0 }, type: 'RESTART ACKNOWLEDGE', ies: [{ id: 'restart-indicator', restartClass: 7 }] }) }));
          flush();
          assert.deepEqual(span.channelStates().filter((c) => c.state !== 'idle'), []);
          assert.ok(calls.every((c) => c.state === 'null'));
          span.stop();
        }),
        { seed: 9312, numRuns: 5000 },
      );
    });
  }
});
