import type { Message, MessageType, NodeId } from './types.js';

const NO_ENTRIES: readonly never[] = Object.freeze([]);

/** Builds a message with every field it does not set zeroed, so encoders and tests see one shape. */
export function newMessage(
  type: MessageType,
  from: NodeId,
  to: NodeId,
  fields: Partial<Omit<Message, 'type' | 'from' | 'to'>> = {},
): Message {
  return {
    type,
    from,
    to,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? NO_ENTRIES,
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    ...(fields.snapshot === undefined ? {} : { snapshot: fields.snapshot }),
    ...(fields.context === undefined ? {} : { context: fields.context }),
    ...(fields.quiesce === true ? { quiesce: true } : {}),
  };
}

/** Responses to these are only sent once the hard state/entries they depend on are durable. */
export function isResponse(type: MessageType): boolean {
  return type === 'app-resp' || type === 'vote-resp' || type === 'pre-vote-resp' || type === 'heartbeat-resp';
}

/**
 * What a group that stops sends its members (RaftNode.stop): a heartbeat answer of term 0. No real answer
 * has term 0 (terms start at 1 with the first election), and every receiver, of any version, drops a message
 * of an older term; RaftCore.step takes it as the sender's group being gone.
 */
export function stopNotice(from: NodeId, to: NodeId): Message {
  return newMessage('heartbeat-resp', from, to, { term: 0 });
}

export function isStopNotice(m: Message): boolean {
  return m.type === 'heartbeat-resp' && m.term === 0;
}

/** Marks a vote request caused by leader transfer: it may bypass the check-quorum lease. */
export const CAMPAIGN_TRANSFER = new Uint8Array([1]);

export function isTransferCampaign(m: Message): boolean {
  return m.context !== undefined && m.context.byteLength === 1 && m.context[0] === 1;
}
