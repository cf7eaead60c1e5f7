import { describe, expect, it } from 'vitest';
import { chooseDismissals, nextWorkerIds } from '../../src/supervisor/scaling.js';

describe('scaling choices', () => {
  it('dismisses idle workers first, then the highest-numbered', () => {
    const serving = [
      { id: 'w1', busy: false },
      { id: 'w2', busy: true },
      { id: 'w3', busy: false },
      { id: 'w10', busy: true },
    ];
    expect(chooseDismissals(serving, 1)).toEqual(['w3']);
    expect(chooseDismissals(serving, 3)).toEqual(['w3', 'w1', 'w10']);
    expect(chooseDismissals(serving, 0)).toEqual([]);
    expect(chooseDismissals(serving, 9)).toHaveLength(4);
  });

  it('gives new workers the lowest ids not in use, skipping ones still stopping', () => {
    expect(nextWorkerIds(['w1', 'w2'], 2)).toEqual(['w3', 'w4']);
    expect(nextWorkerIds(['w1', 'w3'], 2)).toEqual(['w2', 'w4']);
    expect(nextWorkerIds([], 1)).toEqual(['w1']);
  });
});
