/**
 * A payment steered by SIP INFO through the running appliance: the simulated card with one scripted
 * caller (pty, socat), the call manager, SIP over UDP to the embedded demo contact center, whose
 * dialog plays the agent's side: on answer it sends `{"action":"start",…}` as an INFO with
 * `application/vnd.tonewall.pay+json`, and it answers the appliance's progress INFOs. The caller keys
 * a test card as DTMF; the payment goes to the in-process test processor over mutual TLS.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { demoCall } from '../../../hw/sim/call-script';
import { Appliance } from '../../../controller/app/appliance';
import { PAY_INFO_CONTENT_TYPE as CT } from '../../../controller/app/pay-sip-info';
import { parseConfig } from '../../../controller/config/load';
import type { IncomingCall } from '../../../controller/sip/api/incoming-call';
import { freePort } from '../../lib/mosquitto';
import { freeUdpPort, makeTempDir, requirePeer } from '../../lib/sip-peers';
import { assertNoCardData, futureExpiry, TEST_CARDS } from '../../lib/secure-cards';

interface Snap {
  sessionId: string;
  callId: string;
  state: string;
  fields: { field: string; count: number; valid: boolean }[];
  result?: { outcome: string; last4?: string; masking: { clean: boolean; maskedTones: number } };
}

describe('secure: a payment started and followed by SIP INFO through the running appliance (demo contact center as the agent)', function () {
  this.timeout(60_000);
  let app: Appliance | undefined;
  let dir = '';
  const expiry = futureExpiry(Date.now());
  const CVV = '737';
  const infos: Snap[] = [];
  const texts: string[] = [];
  let startStatus: number | undefined;
  let applianceCallId = '';
  const sink = memorySink();

  before(async function () {
    requirePeer(this, 'socat');
    requirePeer(this, 'openssl');
    dir = makeTempDir('pay-sip');
    const demoPort = await freeUdpPort();
    const config = parseConfig({
      device: { id: 'tw-pay-sip-0001', stateDir: join(dir, 'state') },
      card: { sim: { enabled: true, transport: 'pty', script: 'none' } },
      sip: { bindPort: 0, rtpPortMin: 33000, rtpPortMax: 33999, contactCenterUri: `sip:{called}@127.0.0.1:${demoPort}`, demoEndpoint: { enabled: true, bindPort: demoPort } },
      mqtt: { embeddedBroker: { enabled: true, port: await freePort() } },
    });
    const keys = `${TEST_CARDS.visa}#${expiry}#${CVV}#`;
    const script = demoCall(0, { ports: [1], callDurationMs: 3000, callerNumber: '5550199', callerName: 'Pay Sip', keys });
    app = new Appliance({ config, log: createLogger({ level: 'debug', sinks: [sink] }), simScript: [script] });
    await app.start();
    const demo = app.demo;
    assert.ok(demo, 'the demo contact center runs');
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no final payment INFO within 45 s; got ${infos.map((i) => i.state).join(',')}\n${sink.lines.slice(-30).join('\n')}`)), 45_000);
      demo.ua.on('incoming-call', (call: IncomingCall) => {
        call.onInfo((info) => {
          const text = info.body.toString('utf8');
          texts.push(text);
          if (info.contentType !== CT) return { status: 415 };
          const snap = JSON.parse(text) as Snap;
          infos.push(snap);
          if (snap.result) {
            clearTimeout(timer);
            resolve();
          }
          return { status: 200 };
        });
      });
      app?.on('call', (record, event) => {
        if (event !== 'call.answered') return;
        applianceCallId = record.callId;
      });
    });
    // The agent's side: once the demo's dialog is up, it asks for a payment by INFO.
    const agentCall = await new Promise<IncomingCall>((resolve) => demo.ua.once('incoming-call', resolve));
    for (let i = 0; i < 100 && startStatus === undefined; i++) {
      try {
        const body = Buffer.from(JSON.stringify({ action: 'start', requestId: 'sip-agent-1', amountMinor: 1250, currency: 'USD', reference: 'sip-e2e' }), 'utf8');
        startStatus = await agentCall.sendInfo(CT, body);
      } catch {
        await new Promise((r) => setTimeout(r, 50)); // not answered yet
      }
    }
    await done;
  });

  after(async () => {
    await app?.stop('test done');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the start INFO is answered 200 and the session is on the dialog\'s call', () => {
    assert.equal(startStatus, 200);
    assert.ok(infos.length > 0);
    assert.ok(infos.every((s) => s.callId === applianceCallId), `${infos.map((s) => s.callId).join(',')} vs ${applianceCallId}`);
    assert.equal(new Set(infos.map((s) => s.sessionId)).size, 1);
  });

  it('masked progress arrives by INFO as the caller keys, ending approved with last four and a clean masking record', () => {
    const counts = infos.map((s) => s.fields[0]?.count ?? 0);
    assert.ok(counts.includes(16), `card-number counts seen: ${counts.join(',')}`);
    const last = infos[infos.length - 1];
    assert.equal(last?.state, 'approved', JSON.stringify(last));
    assert.equal(last?.result?.last4, '1111');
    assert.equal(last?.result?.masking.clean, true);
    assert.ok((last?.result?.masking.maskedTones ?? 0) >= 23, 'every key was masked');
  });

  it('no INFO and no log line carries the card number, expiry or security code', () => {
    assertNoCardData([...texts, ...sink.lines].map((t) => t.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')), { pan: TEST_CARDS.visa, expiry, cvv: CVV });
  });
});
