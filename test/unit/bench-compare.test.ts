import { describe, expect, it } from 'vitest';

import { compareFigures } from '../../scripts/bench/compare.mjs';

const range = (median: number, min: number, max: number, n = 5) => ({ median, min, max, q1: min, q3: max, n });
const figures = (fullMs: number, floorMs: number, requests = 1425) => ({
  fullWallMs: range(fullMs, fullMs * 0.97, fullMs * 1.03),
  floorWallMs: range(floorMs, floorMs * 0.97, floorMs * 1.03),
  requests,
  ratios: { fullOverFloor: fullMs / floorMs },
});

type Row = { label: string; match: boolean; allowed: number };
const row = (rows: Row[], label: string) => rows.find((candidate) => candidate.label === label)!;

describe('benchmark rerun comparison', () => {
  it('matches small moves', () => {
    const rows: Row[] = compareFigures(figures(2200, 1500), figures(2300, 1550));
    expect(rows.every((candidate) => candidate.match)).toBe(true);
  });

  it('flags a large move', () => {
    const rows: Row[] = compareFigures(figures(2200, 1500), figures(2700, 1500));
    expect(row(rows, 'full check wall time').match).toBe(false);
    expect(row(rows, 'floor wall time').match).toBe(true);
  });

  it('widens allowance for noisy runs', () => {
    const noisy = { ...figures(2200, 1500), fullWallMs: range(2200, 1800, 2700) };
    const rows: Row[] = compareFigures(noisy, figures(2600, 1500));
    expect(row(rows, 'full check wall time')).toMatchObject({ match: true });
    expect(row(rows, 'full check wall time').allowed).toBeCloseTo(900 / 2200, 5);
  });

  it('uses quartiles for many runs', () => {
    const cold = (median: number) => ({ ...figures(2200, 1500), versionMs: { median, min: median - 2, max: median + 60, q1: median - 1, q3: median + 1, n: 10 } });
    const rows: Row[] = compareFigures(cold(70), cold(90));
    expect(row(rows, '--version wall time')).toMatchObject({ match: false, allowed: 0.15 });
  });

  it('requires equal request counts', () => {
    const rows: Row[] = compareFigures(figures(2200, 1500, 1425), figures(2200, 1500, 1426));
    expect(row(rows, 'requests').match).toBe(false);
  });
});
