/**
 * InitProducerId v0 (api key 11): a producer id (unique across the cluster) and epoch for an idempotent
 * producer. Any broker answers.
 *
 *   request  = { }                                  (extra keys are ignored)
 *   response = { error: WireError | nil, producerId: int >= -1, producerEpoch: int16 >= -1 }
 */
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../messages.js';
import {
  asInt32OrMinusOne,
  asNullableWireError,
  asObject,
  asSafeInt,
  field,
  invalid,
  wireErrorOut,
} from '../../narrow.js';

export function encodeRequest(_req: InitProducerIdRequest): unknown {
  return {};
}

export function decodeRequest(v: unknown): InitProducerIdRequest {
  asObject(v, 'InitProducerId');
  return {};
}

export function encodeResponse(res: InitProducerIdResponse): unknown {
  return { error: wireErrorOut(res.error), producerId: res.producerId, producerEpoch: res.producerEpoch };
}

export function decodeResponse(v: unknown): InitProducerIdResponse {
  const o = asObject(v, 'InitProducerIdResponse');
  const producerEpoch = asInt32OrMinusOne(field(o, 'producerEpoch'), 'InitProducerIdResponse.producerEpoch');
  if (producerEpoch > 0x7fff) return invalid('InitProducerIdResponse.producerEpoch', 'an int16');
  return {
    error: asNullableWireError(field(o, 'error'), 'InitProducerIdResponse.error'),
    producerId: asSafeInt(field(o, 'producerId'), 'InitProducerIdResponse.producerId', -1),
    producerEpoch,
  };
}
