/**
 * DescribeCluster v1 (api key 9): v0 plus the cluster feature levels (docs/operations.md, "Cluster feature
 * levels"), so `cluster status` shows how far a rolling upgrade has come.
 *
 *   request  = as v0
 *   response = v0's map, plus   featureLevel: int32 >= 1           (the cluster's finalized level)
 *                               supportedFeatureLevel: int32 >= 1  (the answering broker's build)
 *              and on each of `brokers`:  featureLevel: int32 >= 1 (the highest its build supports)
 */
import type { DescribeClusterResponse } from '../../messages.js';
import { asArray, asObject, asSafeInt, field } from '../../narrow.js';
import * as v0 from './v0.js';

export const encodeRequest = v0.encodeRequest;
export const decodeRequest = v0.decodeRequest;

export function encodeResponse(res: DescribeClusterResponse): unknown {
  const base = v0.encodeResponse(res) as { brokers: Record<string, unknown>[] };
  return {
    ...base,
    brokers: base.brokers.map((b, i) => ({ ...b, featureLevel: res.brokers[i]?.featureLevel ?? 1 })),
    featureLevel: res.featureLevel ?? 1,
    supportedFeatureLevel: res.supportedFeatureLevel ?? 1,
  };
}

export function decodeResponse(v: unknown): DescribeClusterResponse {
  const res = v0.decodeResponse(v);
  const root = 'DescribeClusterResponse';
  const o = asObject(v, root);
  const brokers = asArray(field(o, 'brokers'), `${root}.brokers`);
  return {
    ...res,
    brokers: res.brokers.map((b, i) => ({
      ...b,
      featureLevel: level(
        field(asObject(brokers[i], `${root}.brokers`), 'featureLevel'),
        `${root}.brokers.featureLevel`,
      ),
    })),
    featureLevel: level(field(o, 'featureLevel'), `${root}.featureLevel`),
    supportedFeatureLevel: level(field(o, 'supportedFeatureLevel'), `${root}.supportedFeatureLevel`),
  };
}

function level(v: unknown, path: string): number {
  return asSafeInt(v, path, 1);
}
