import assert from 'node:assert/strict';
import { absoluteTopic, callTopic, eventTopic, topicPolicy } from '../../../controller/fleet/topics';

describe('fleet/topics (DESIGN.md §6 topic tree)', () => {
  it('builds tonewall/v1/{dev}/… topics', () => {
    assert.equal(absoluteTopic('tonewall/v1', 'tw-lon-0042', 'status'), 'tonewall/v1/tw-lon-0042/status');
    assert.equal(absoluteTopic('tonewall/v1', 'tw-lon-0042', callTopic('c-17')), 'tonewall/v1/tw-lon-0042/calls/c-17');
    assert.equal(eventTopic('call'), 'events/call');
  });

  it('refuses wildcards, separators and empty levels, naming the value', () => {
    assert.throws(() => callTopic('a/b'), /call id "a\/b" is not a topic level/);
    assert.throws(() => callTopic('#'), /call id "#"/);
    assert.throws(() => callTopic(''), /call id ""/);
    assert.throws(() => eventTopic('call+'), /event type "call\+"/);
    assert.throws(() => absoluteTopic('tonewall/v1/', 'd', 'status'), /topic root "tonewall\/v1\/"/);
    assert.throws(() => absoluteTopic('tonewall/v1', 'd/x', 'status'), /device id "d\/x"/);
  });

  it('gives QoS 1 everywhere, retain for status/info/calls, not for events', () => {
    assert.deepEqual(topicPolicy('status'), { qos: 1, retain: true, schema: 'status@1' });
    assert.deepEqual(topicPolicy('info'), { qos: 1, retain: true, schema: 'info@1' });
    assert.equal(topicPolicy('calls/c1').retain, true);
    assert.equal(topicPolicy('events/call').retain, false);
    assert.equal(topicPolicy('events/call').qos, 1);
  });
});
