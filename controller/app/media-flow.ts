/**
 * Media pipeline liveness for the watchdog (DESIGN.md §7, issue 8): every call's media leg is
 * watched where the card's audio enters it (`fromCard`, 10 ms chunks at the card's TDM clock). A
 * call that is `active` but whose leg has processed no card audio for `maxGapMs` means the
 * pipeline (or the card's audio stream under it) has stalled; the watchdog then withholds its ping
 * and systemd restarts the service.
 *
 * Card audio flows whatever the SIP media direction (hold stops RTP, not the TDM stream), so a held
 * call is not a stall.
 */
import type { Clock } from '../../hw/base/clock';
import type { MediaFactory, MediaLeg } from '../call/ports';

export class MediaFlow {
  private readonly lastFedMs = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** Wraps a media factory so every leg it opens reports the card audio it processes. */
  watch(factory: MediaFactory): MediaFactory {
    return {
      open: async (options) => {
        const leg: MediaLeg = await factory.open(options);
        const { callId } = options;
        this.lastFedMs.set(callId, this.clock.monotonicMs());
        const fromCard = leg.fromCard.bind(leg);
        const close = leg.close.bind(leg);
        leg.fromCard = (pcm) => {
          fromCard(pcm);
          this.lastFedMs.set(callId, this.clock.monotonicMs());
        };
        leg.close = () => {
          this.lastFedMs.delete(callId);
          close();
        };
        return leg;
      },
    };
  }

  /** Calls that `isActive` says are up but whose leg processed no card audio for `maxGapMs`. */
  stalled(isActive: (callId: string) => boolean, maxGapMs: number): string[] {
    const now = this.clock.monotonicMs();
    const out: string[] = [];
    for (const [callId, at] of this.lastFedMs) if (now - at > maxGapMs && isActive(callId)) out.push(callId);
    return out;
  }

  get legs(): number {
    return this.lastFedMs.size;
  }
}
