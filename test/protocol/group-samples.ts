/** One fixed request and response per consumer-group API (keys 12..21, 26); samples.ts merges them in. */
import { ApiKey } from '../../src/protocol/messages.js';
import type { Sample } from './samples.js';

export type GroupApiKey =
  | typeof ApiKey.FindCoordinator
  | typeof ApiKey.JoinGroup
  | typeof ApiKey.SyncGroup
  | typeof ApiKey.Heartbeat
  | typeof ApiKey.LeaveGroup
  | typeof ApiKey.OffsetCommit
  | typeof ApiKey.OffsetFetch
  | typeof ApiKey.ListGroups
  | typeof ApiKey.DescribeGroups
  | typeof ApiKey.DeleteGroups
  | typeof ApiKey.OffsetDelete;

const subscription = Buffer.from([0, 1, 0, 0, 0, 1, 0, 6, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x73]);
const assignment = Buffer.from([
  0, 1, 0, 0, 0, 1, 0, 6, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x73, 0, 0, 0, 1, 0, 0, 0, 2,
]);
const notCoordinator = {
  code: 501,
  category: 'retriable' as const,
  message: 'this broker is not the group coordinator',
};
const unknownMember = { code: 502, category: 'invalid_input' as const, message: 'unknown member id' };

/** The consumer-group APIs (keys 12..21, 26). */
export const GROUP_SAMPLES: { [K in GroupApiKey]: Sample<K> } = {
  [ApiKey.FindCoordinator]: {
    apiKey: ApiKey.FindCoordinator,
    file: 'find-coordinator',
    request: { groupId: 'billing' },
    response: { error: null, nodeId: 2, host: '10.0.0.2', port: 9092 },
  },
  [ApiKey.JoinGroup]: {
    apiKey: ApiKey.JoinGroup,
    file: 'join-group',
    request: {
      groupId: 'billing',
      memberId: '',
      groupInstanceId: null,
      sessionTimeoutMs: 45000,
      rebalanceTimeoutMs: 300000,
      protocolType: 'consumer',
      protocols: [
        { name: 'cooperative-sticky', metadata: subscription },
        { name: 'range', metadata: subscription },
      ],
    },
    response: {
      error: null,
      generation: 3,
      protocolType: 'consumer',
      protocol: 'cooperative-sticky',
      leaderId: 'billing-app-1-4f7c',
      memberId: 'billing-app-1-4f7c',
      members: [
        { memberId: 'billing-app-1-4f7c', groupInstanceId: null, metadata: subscription },
        { memberId: 'billing-app-2-9a01', groupInstanceId: 'pod-2', metadata: Buffer.alloc(0) },
      ],
      skipAssignment: false,
    },
  },
  [ApiKey.SyncGroup]: {
    apiKey: ApiKey.SyncGroup,
    file: 'sync-group',
    request: {
      groupId: 'billing',
      memberId: 'billing-app-1-4f7c',
      groupInstanceId: 'pod-1',
      generation: 3,
      assignments: [
        { memberId: 'billing-app-1-4f7c', assignment },
        { memberId: 'billing-app-2-9a01', assignment: Buffer.alloc(0) },
      ],
    },
    response: { error: null, protocol: 'cooperative-sticky', assignment },
  },
  [ApiKey.Heartbeat]: {
    apiKey: ApiKey.Heartbeat,
    file: 'heartbeat',
    request: { groupId: 'billing', memberId: 'billing-app-1-4f7c', groupInstanceId: null, generation: 3 },
    response: { error: { code: 504, category: 'retriable', message: 'rebalance in progress' } },
  },
  [ApiKey.LeaveGroup]: {
    apiKey: ApiKey.LeaveGroup,
    file: 'leave-group',
    request: {
      groupId: 'billing',
      members: [
        { memberId: 'billing-app-1-4f7c', groupInstanceId: null },
        { memberId: '', groupInstanceId: 'pod-2' },
      ],
    },
    response: {
      error: null,
      members: [
        { memberId: 'billing-app-1-4f7c', groupInstanceId: null, error: null },
        { memberId: '', groupInstanceId: 'pod-2', error: unknownMember },
      ],
    },
  },
  [ApiKey.OffsetCommit]: {
    apiKey: ApiKey.OffsetCommit,
    file: 'offset-commit',
    request: {
      groupId: 'billing',
      generation: 3,
      memberId: 'billing-app-1-4f7c',
      groupInstanceId: null,
      reset: false,
      partitions: [
        { topic: 'orders', partition: 0, offset: 5_000_000_000, metadata: 'host=a' },
        { topic: 'orders', partition: 1, offset: 0, metadata: '' },
      ],
    },
    response: {
      error: null,
      partitions: [
        { topic: 'orders', partition: 0, error: null },
        {
          topic: 'orders',
          partition: 1,
          error: {
            code: 509,
            category: 'invalid_input',
            message: 'committed offsets only move forward (reset them explicitly)',
          },
        },
      ],
    },
  },
  [ApiKey.OffsetFetch]: {
    apiKey: ApiKey.OffsetFetch,
    file: 'offset-fetch',
    request: { groupId: 'billing', partitions: [{ topic: 'orders', partition: 0 }] },
    response: {
      error: null,
      partitions: [
        {
          topic: 'orders',
          partition: 0,
          offset: 42,
          metadata: 'host=a',
          commitTimestampMs: 1_700_000_000_123,
          error: null,
        },
        { topic: 'orders', partition: 1, offset: -1, metadata: '', commitTimestampMs: -1, error: null },
      ],
    },
  },
  [ApiKey.ListGroups]: {
    apiKey: ApiKey.ListGroups,
    file: 'list-groups',
    request: {},
    response: {
      error: null,
      groups: [
        { groupId: 'billing', protocolType: 'consumer', state: 'Stable' },
        { groupId: 'offsets-only', protocolType: '', state: 'Empty' },
      ],
    },
  },
  [ApiKey.DescribeGroups]: {
    apiKey: ApiKey.DescribeGroups,
    file: 'describe-groups',
    request: { groupIds: ['billing', 'elsewhere'] },
    response: {
      groups: [
        {
          groupId: 'billing',
          error: null,
          state: 'Stable',
          generation: 3,
          protocolType: 'consumer',
          protocol: 'cooperative-sticky',
          leaderId: 'billing-app-1-4f7c',
          members: [
            {
              memberId: 'billing-app-1-4f7c',
              groupInstanceId: 'pod-1',
              clientId: 'billing-app-1',
              clientHost: '/10.0.0.7',
              assignment,
            },
          ],
        },
        {
          groupId: 'elsewhere',
          error: notCoordinator,
          state: 'Dead',
          generation: -1,
          protocolType: '',
          protocol: null,
          leaderId: null,
          members: [],
        },
      ],
    },
  },
  [ApiKey.DeleteGroups]: {
    apiKey: ApiKey.DeleteGroups,
    file: 'delete-groups',
    request: { groupIds: ['billing', 'old'] },
    response: {
      groups: [
        {
          groupId: 'billing',
          error: { code: 506, category: 'invalid_input', message: 'group has active members' },
        },
        { groupId: 'old', error: null },
      ],
    },
  },
  [ApiKey.OffsetDelete]: {
    apiKey: ApiKey.OffsetDelete,
    file: 'offset-delete',
    request: {
      groupId: 'billing',
      partitions: [
        { topic: 'orders', partition: 0 },
        { topic: 'audit', partition: 3 },
      ],
    },
    response: {
      error: null,
      partitions: [
        {
          topic: 'orders',
          partition: 0,
          error: {
            code: 512,
            category: 'invalid_input',
            message: 'a member of group "billing" subscribes to orders',
          },
        },
        { topic: 'audit', partition: 3, error: null },
      ],
    },
  },
};
