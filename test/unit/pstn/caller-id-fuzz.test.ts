import { callerIdProperty, runFuzz } from '../../lib/pstn-fuzz';

describe('caller ID decoders against arbitrary input (property, short run; 1,000,000 in test:fuzz)', () => {
  it('10,000 FSK messages and DTMF key strings: decoded or a clear ECALLERID error', () => {
    runFuzz('caller ID decoders (short)', callerIdProperty, 5006, 10_000);
  });
});
