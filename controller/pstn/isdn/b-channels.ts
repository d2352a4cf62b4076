/**
 * B-channel states of one PRI span: idle, busy (a call reference holds it), or maintenance (out of
 * service after a failed release, Q.931 §5.3.4.3, until a RESTART/RESTART ACKNOWLEDGE returns it, §5.5).
 * Channel selection follows Q.931 §5.1.2 / §5.2.3: an exclusive request gets that channel or nothing,
 * a preferred request gets that channel when idle and else the first idle one.
 */
import { TonewallError } from '../../../hw/base/errors';

export type BChannelState = 'idle' | 'busy' | 'maintenance';

export class BChannels {
  private readonly states = new Map<number, BChannelState>();

  constructor(channels: readonly number[]) {
    for (const c of channels) this.states.set(c, 'idle');
  }

  has(channel: number): boolean {
    return this.states.has(channel);
  }

  state(channel: number): BChannelState | undefined {
    return this.states.get(channel);
  }

  /** The channel to use, or undefined when none fits (cause 44 for exclusive, 34 otherwise). */
  select(requested: number | undefined, exclusive: boolean): number | undefined {
    if (requested !== undefined && this.states.get(requested) === 'idle') return requested;
    if (requested !== undefined && exclusive) return undefined;
    // Highest first when we are the network and lowest when the user would be glare-prone; a fixed
    // order is enough here because the network's exclusive SETUP wins a collision (§5.7 does not apply to PRI).
    for (const [c, s] of this.states) if (s === 'idle') return c;
    return undefined;
  }

  seize(channel: number): void {
    const s = this.states.get(channel);
    if (s !== 'idle') throw new TonewallError('EPRI_CHANNEL', `B channel ${channel} is ${s ?? 'not on this span'}; an idle channel was expected`);
    this.states.set(channel, 'busy');
  }

  /** Back to idle (call released) or to maintenance (release not confirmed). */
  free(channel: number, maintenance: boolean): void {
    if (this.states.has(channel)) this.states.set(channel, maintenance ? 'maintenance' : 'idle');
  }

  /** After RESTART (either direction): the channels are idle again. */
  restarted(channels: readonly number[] | 'all'): void {
    for (const c of channels === 'all' ? [...this.states.keys()] : channels) if (this.states.has(c)) this.states.set(c, 'idle');
  }

  list(): { channel: number; state: BChannelState }[] {
    return [...this.states].map(([channel, state]) => ({ channel, state }));
  }

  inMaintenance(): number[] {
    return [...this.states].filter(([, s]) => s === 'maintenance').map(([c]) => c);
  }
}
