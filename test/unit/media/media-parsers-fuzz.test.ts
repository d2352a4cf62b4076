/** ~10k fuzz inputs per media parser in npm test (the 1,000,000-input runs: test/fuzz/media). Fixed seeds. */
import { eventProperty, rtcpProperty, rtpProperty, runMediaFuzz, sdpProperty, srtpProperty } from '../../lib/media-fuzz';

describe('fuzz (short): media parsers give only clear errors', function () {
  this.timeout(60000);
  it('RTP (RFC 3550 §5.1) decodeRtp', () => void runMediaFuzz(rtpProperty, 4101, 10000));
  it('RTCP (RFC 3550 §6) decodeRtcpCompound', () => void runMediaFuzz(rtcpProperty, 4102, 10000));
  it('RFC 4733 decodeTelephoneEvents', () => void runMediaFuzz(eventProperty, 4103, 10000));
  it('SDP (RFC 3264/4568) parseAnswer and answerOffer', () => void runMediaFuzz(sdpProperty, 4104, 5000));
  it('SRTP/SRTCP (RFC 3711) unprotect', () => void runMediaFuzz(srtpProperty, 4105, 3000));
});
