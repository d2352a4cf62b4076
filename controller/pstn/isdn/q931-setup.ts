/**
 * Building and reading SETUP (Q.931 §3.1.14) for a basic speech call on a PRI, per switch variant:
 * bearer capability (speech, 64 kbit/s circuit, G.711 law of the span), channel identification,
 * calling number (with presentation/screening) and optional display name, called number.
 */
import { TonewallError } from '../../../hw/base/errors';
import type { Q931Ie } from './q931-ie';
import { findIe, type Q931Message } from './q931-message';
import type { SwitchVariant } from './switch-variant';

export interface SetupParams {
  /** Called party digits (IA5). */
  called: string;
  calling: string;
  callingName?: string;
  /** B channel asked for; undefined = any channel. */
  channel?: number;
  exclusive: boolean;
  /** Calling number presentation: 0 allowed, 1 restricted. */
  presentation?: number;
}

export interface SetupInfo {
  called: string;
  calling: string;
  callingName: string;
  /** The channel the network (or user) asked for; undefined when any channel is acceptable. */
  channel: number | undefined;
  exclusive: boolean;
  /** Information transfer capability from bearer capability (0 speech, 16 3.1 kHz audio, 8 data). */
  capability: number;
  layer1: number | undefined;
  sendingComplete: boolean;
}

/** Bearer capability information transfer capabilities this appliance carries (G.711 audio only). */
export const VOICE_CAPABILITIES: readonly number[] = [0x00, 0x10];

export function setupIes(params: SetupParams, variant: SwitchVariant): Q931Ie[] {
  const ies: Q931Ie[] = [
    { id: 'bearer-capability', capability: 0x00, modeRate: 0x90, layer1: variant.layer1 },
    params.channel === undefined
      ? { id: 'channel-id', exclusive: false, selection: 'any', channels: [], dChannel: false }
      : { id: 'channel-id', exclusive: params.exclusive, selection: 'indicated', channels: [params.channel], dChannel: false },
  ];
  if (params.callingName && variant.displayCallingName) ies.push({ id: 'display', text: params.callingName });
  ies.push({ id: 'calling-number', typeOfNumber: 0, numberingPlan: variant.numberingPlan, presentation: params.presentation ?? 0, screening: 0, digits: params.calling });
  ies.push({ id: 'called-number', typeOfNumber: 0, numberingPlan: variant.numberingPlan, digits: params.called });
  ies.push({ id: 'sending-complete' });
  return ies;
}

/** Reads a received SETUP. Throws EQ931_MANDATORY when bearer capability is missing (§5.8.6.1, cause 96). */
export function readSetup(msg: Q931Message): SetupInfo {
  const bc = findIe(msg, 'bearer-capability');
  if (!bc) throw new TonewallError('EQ931_MANDATORY', 'Q.931 SETUP has no bearer capability IE (0x04); it is mandatory');
  const chan = findIe(msg, 'channel-id');
  const calling = findIe(msg, 'calling-number');
  const called = findIe(msg, 'called-number');
  return {
    called: called?.digits ?? '',
    calling: calling && calling.presentation !== 1 ? calling.digits : '',
    callingName: findIe(msg, 'display')?.text ?? '',
    channel: chan?.selection === 'indicated' ? chan.channels[0] : undefined,
    exclusive: chan?.exclusive ?? false,
    capability: bc.capability,
    layer1: bc.layer1,
    sendingComplete: findIe(msg, 'sending-complete') !== undefined,
  };
}

export function channelIe(channel: number): Q931Ie {
  return { id: 'channel-id', exclusive: true, selection: 'indicated', channels: [channel], dChannel: false };
}

export function causeIe(value: number, location = 0): Q931Ie {
  return { id: 'cause', location, value, diagnostics: Buffer.alloc(0) };
}
