/**
 * Strict fakes of the call manager's ports (controller/call/ports.ts) and the PSTN side, shared by
 * the call unit tests. They record what they were asked to do.
 */
import { TypedEmitter } from '../../hw/base/typed-emitter';
import type { CardEvents } from '../../hw/card/types';
import type { InfoReply, LegInfo, MediaLeg, ReleaseReason, SipInboundLeg, SipInboundLegEvents, SipLeg, SipLegEvents } from '../../controller/call/ports';
import type { OutboundCallRequest, PstnCall, PstnCallEvents, PstnCallInfo, PstnDialer, PstnRelease } from '../../controller/pstn/types';

export class FakePstnCall extends TypedEmitter<PstnCallEvents> implements PstnCall {
  state = 'offered';
  hangups: { q850: number; reason: string }[] = [];
  answers = 0;
  constructor(readonly info: PstnCallInfo) {
    super();
  }
  answer(): Promise<void> {
    this.answers++;
    this.state = 'connected';
    queueMicrotask(() => this.emit('answered'));
    return Promise.resolve();
  }
  hangup(q850: number, reason: string): Promise<void> {
    this.hangups.push({ q850, reason });
    this.state = 'idle';
    return Promise.resolve();
  }
  release(r: PstnRelease): void {
    this.state = 'idle';
    this.emit('released', r);
  }
}

type InfoFn = (info: LegInfo) => InfoReply | Promise<InfoReply>;

export class FakeLeg extends TypedEmitter<SipLegEvents> implements SipLeg {
  readonly sipCallId = 'sip-call-1@tonewall';
  cancels: (ReleaseReason | undefined)[] = [];
  byes: (ReleaseReason | undefined)[] = [];
  infosSent: { contentType: string; body: Buffer }[] = [];
  info: InfoFn | undefined;
  offer: ((sdp: string) => string) | undefined;
  infoStatus = 200;
  cancel(reason?: ReleaseReason): void {
    this.cancels.push(reason);
  }
  hangup(reason?: ReleaseReason): Promise<void> {
    this.byes.push(reason);
    return Promise.resolve();
  }
  onInfo(handler: InfoFn): void {
    this.info = handler;
  }
  onOffer(handler: (sdp: string) => string): void {
    this.offer = handler;
  }
  sendInfo(contentType: string, body: Buffer): Promise<number> {
    this.infosSent.push({ contentType, body });
    return Promise.resolve(this.infoStatus);
  }
}

export class FakeMedia implements MediaLeg {
  readonly sdpOffer = 'v=0 (offer)';
  fromCardChunks: Buffer[] = [];
  closed = 0;
  applied: string[] = [];
  tones: ('ringback' | null)[] = [];
  offers: string[] = [];
  applyAnswer(sdp: string): { codec: string } {
    if (sdp === 'bad') throw new Error('no common codec: answer offered G729');
    this.applied.push(sdp);
    return { codec: 'PCMU' };
  }
  fromCard(pcm: Buffer): void {
    this.fromCardChunks.push(pcm);
  }
  toCard(): Buffer {
    return Buffer.alloc(80, 0x55);
  }
  stats() {
    return { packetsSent: 0, packetsReceived: 0 };
  }
  close(): void {
    this.closed++;
  }
  setLocalTone(kind: 'ringback' | null): void {
    this.tones.push(kind);
  }
  answerOffer(sdp: string): { sdp: string; codec: string } {
    if (sdp === 'bad') throw new Error('no common codec: offer has 18 G729/8000; we support PCMU, PCMA');
    this.offers.push(sdp);
    return { sdp: `answer to ${sdp}`, codec: sdp.includes('PCMA') ? 'PCMA' : 'PCMU' };
  }
}

export class FakeCard extends TypedEmitter<CardEvents> {
  written: { channel: number; data: Uint8Array }[] = [];
  info = { model: 'fake', firmwareVersion: '1', serial: 's', protocolVersion: 1, law: 'ulaw' as const, ports: [], spans: [] };
  writePcm(channel: number, data: Uint8Array): void {
    this.written.push({ channel, data });
  }
}

/** The SIP side of a SIP → PSTN call: records 180/183/200/rejections/BYEs. */
export class FakeInboundLeg extends TypedEmitter<SipInboundLegEvents> implements SipInboundLeg {
  readonly sipCallId = 'sip-in-1@cc';
  state = 'offered';
  sent: string[] = [];
  rejected: { status: number; q850: ReleaseReason } | undefined;
  byes: (ReleaseReason | undefined)[] = [];
  info: InfoFn | undefined;
  offer: ((sdp: string) => string) | undefined;
  constructor(
    readonly requestUri = 'sip:+442071234567@appliance',
    readonly sdpOffer = 'v=0 (their offer PCMU)',
    readonly caller = { uri: 'sip:5551000@cc.example.net', displayName: 'Agent' as string | undefined },
  ) {
    super();
  }
  ring(): void {
    this.sent.push('180');
  }
  progress(sdp: string): void {
    this.sent.push(`183 ${sdp}`);
  }
  answer(sdp: string): void {
    this.sent.push(`200 ${sdp}`);
    this.state = 'answered';
  }
  reject(status: number, _reason: string | undefined, q850: ReleaseReason): void {
    this.rejected = { status, q850 };
    this.state = 'terminated';
  }
  hangup(reason?: ReleaseReason): Promise<void> {
    this.byes.push(reason);
    this.state = 'terminated';
    return Promise.resolve();
  }
  onInfo(handler: InfoFn): void {
    this.info = handler;
  }
  onOffer(handler: (sdp: string) => string): void {
    this.offer = handler;
  }
  sendInfo(): Promise<number> {
    return Promise.resolve(200);
  }
  /** The far end CANCELs or BYEs (the user agent already answered it). */
  remoteEnd(reason: string, q850?: number): void {
    this.state = 'terminated';
    this.emit('ended', 'remote', reason, ...(q850 !== undefined ? [q850] : []));
  }
}

export class FakeDialer implements PstnDialer {
  placed: { request: OutboundCallRequest; call: FakePstnCall }[] = [];
  throwWith: Error | undefined;
  placeCall(request: OutboundCallRequest): PstnCall {
    if (this.throwWith) throw this.throwWith;
    const call = new FakePstnCall({ trunk: request.trunk ?? 'span/1', port: 1, channel: 5, callerNumber: request.callingNumber ?? '', callerName: request.callingName ?? '', calledNumber: request.calledNumber });
    call.state = 'dialing';
    this.placed.push({ request, call });
    return call;
  }
}
