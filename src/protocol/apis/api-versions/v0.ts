/**
 * ApiVersions v0 (api key 4).
 *
 *   request  = { }                                  (extra keys are ignored)
 *   response = { apis: [ { apiKey: int32 >= 0, minVersion: int32 >= 0, maxVersion: int32 >= 0 } ],
 *                brokerVersion: str }
 */
import type { ApiVersionsRequest, ApiVersionsResponse } from '../../messages.js';
import { asNonNegInt32, asObject, asText, field, invalid, mapArray } from '../../narrow.js';

export function encodeRequest(_req: ApiVersionsRequest): unknown {
  return {};
}

export function decodeRequest(v: unknown): ApiVersionsRequest {
  asObject(v, 'ApiVersions');
  return {};
}

export function encodeResponse(res: ApiVersionsResponse): unknown {
  return {
    apis: res.apis.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
    brokerVersion: res.brokerVersion,
  };
}

export function decodeResponse(v: unknown): ApiVersionsResponse {
  const o = asObject(v, 'ApiVersionsResponse');
  return {
    apis: mapArray(field(o, 'apis'), 'ApiVersionsResponse.apis', (item, path) => {
      const a = asObject(item, path);
      const minVersion = asNonNegInt32(field(a, 'minVersion'), `${path}.minVersion`);
      const maxVersion = asNonNegInt32(field(a, 'maxVersion'), `${path}.maxVersion`);
      if (maxVersion < minVersion) invalid(`${path}.maxVersion`, `>= minVersion ${minVersion}`);
      return { apiKey: asNonNegInt32(field(a, 'apiKey'), `${path}.apiKey`), minVersion, maxVersion };
    }),
    brokerVersion: asText(field(o, 'brokerVersion'), 'ApiVersionsResponse.brokerVersion'),
  };
}
