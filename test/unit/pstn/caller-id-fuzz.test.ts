import { callerIdProperty } from '../../lib/pstn-fuzz';
import { runFuzz } from '../../lib/fleet-fuzz';

describe('caller ID decoders against arbitrary input (property, short run; 1,000,000 in test:fuzz)', () => {
  it('10,000 FSK messages and DTMF key strings: decoded or a clear ECALLERID error', async () => {
    await runFuzz('caller ID decoders (short)', callerIdProperty, 5006, 10_000);
  });
});
