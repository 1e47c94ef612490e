/**
 * `cluster add-voter` / `remove-voter` warn on stderr when the metadata quorum they leave survives less than
 * an operator may assume (QA: remove-voter went down to one voter without a word).
 */
import { describe, expect, it } from 'vitest';
import { quorumSizeWarning } from '../../cmd/commands/cluster.js';

describe('the quorum size warning', () => {
  it('warns for one voter and for even counts, says nothing for 3 and 5', () => {
    expect(quorumSizeWarning(1)).toMatch(/one voter: losing that broker stops every metadata change/);
    expect(quorumSizeWarning(2)).toMatch(/2 metadata voters survive no more failures than 1/);
    expect(quorumSizeWarning(4)).toMatch(/4 metadata voters survive no more failures than 3/);
    expect(quorumSizeWarning(3)).toBe('');
    expect(quorumSizeWarning(5)).toBe('');
  });
});
