/**
 * What the call manager answers an INFO when nobody registered an INFO handler, RFC 6086 §4.2.2:
 * 469 Bad Info Package for an INFO naming a package we never announced, 415 for a body we cannot
 * take, 200 for an INFO without a body (legacy keep-alive use).
 */
import type { InfoReply, InfoRequest, LegInfo } from './ports';

export function infoReplyWithoutHandler(info: LegInfo): InfoReply {
  if (info.infoPackage !== undefined) return { status: 469, reason: 'Bad Info Package' };
  if (info.body.length > 0) return { status: 415 };
  return { status: 200 };
}

/**
 * The reply to an INFO on a call's dialog: the registered handler's (made safe), or the no-handler
 * answer. We announce no Info-Package (Recv-Info is empty), so an INFO naming one gets 469 whoever
 * listens (RFC 6086 §4.2.2); the pay content type travels as a legacy INFO body.
 */
export async function answerLegInfo(info: LegInfo, callId: string, handler: ((req: InfoRequest) => InfoReply | Promise<InfoReply>) | undefined): Promise<InfoReply> {
  if (!handler || info.infoPackage !== undefined) return infoReplyWithoutHandler(info);
  return normalizeInfoReply(await handler({ callId, contentType: info.contentType, body: info.body }));
}

/** A handler's reply made safe to send: a status outside 200..699 becomes 500. */
export function normalizeInfoReply(reply: InfoReply): InfoReply {
  if (!Number.isInteger(reply.status) || reply.status < 200 || reply.status > 699) return { status: 500 };
  return reply;
}
