export {
  DEFAULT_COORDINATOR_CONFIG,
  initialCoordinatorState,
  isLeader,
  livenessOf,
  step,
} from './coordinator-logic.js';
export type {
  CoordinatorAction,
  CoordinatorConfig,
  CoordinatorEvent,
  CoordinatorState,
  HeartbeatRecord,
  StepResult,
} from './coordinator-types.js';
export {
  type AliveCause,
  type BrokerLiveness,
  DEFAULT_FAILURE_DETECTOR_CONFIG,
  type Detection,
  detect,
  type FailureCause,
  type FailureDetectorConfig,
  heartbeatFresh,
  isStuck,
  type ProbeFailures,
  recordProbe,
} from './failure-detector.js';
export { planLeaders } from './leader-planner.js';
export { countImbalance, eligibleBrokers, type ImbalanceReport, imbalanceScore, isEligible } from './load.js';
export { type ClusterViewOptions, toClusterView } from './metadata-view.js';
export { hashName, type PlaceTopicRequest, placeTopic, type TopicPlacement } from './placement.js';
export {
  DEFAULT_REBALANCE_OPTIONS,
  planRebalance,
  type RebalanceOptions,
  type RebalancePlan,
} from './rebalancer.js';
export * from './types.js';
