// The figures of one benchmark run as JSON (docs/benchmarks.json), and the comparison of a rerun
// with the recorded run, so that "the page matches a rerun" is a printed verdict, not a judgment.

/** Relative difference of two medians that still counts as the same figure on a shared machine. */
export const NOISE_FLOOR = 0.1;

/**
 * Collect the figures to record: each a median with its min-max over the repetitions, or a single
 * number for counts and ratios.
 */
export function figuresOf(r) {
  const range = (s) => (s ? { median: s.median, min: s.min, max: s.max } : null);
  return {
    fullWallMs: range(r.toolWall),
    floorWallMs: range(r.floorWall),
    peakMB: range(r.peak),
    fullCpuS: range(r.toolCpu),
    floorCpuS: range(r.floorCpu),
    byHandWallMs: range(r.hand),
    sampleWallMs: range(r.sample),
    nodeStartMs: range(r.coldStats.node),
    versionMs: range(r.coldStats.version),
    helpMs: range(r.coldStats.help),
    requests: r.total(r.tool),
    minimumRequests: r.total(r.minimum),
    ratios: {
      fullOverFloor: r.ratios.fullOverFloor,
      byHandOverTool: r.ratios.byHandOverTool,
      versionOverNode: r.ratios.versionOverNode,
    },
  };
}

const LABELS = {
  fullWallMs: ['full check wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  floorWallMs: ['floor wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  peakMB: ['full check peak memory', (v) => `${v.toFixed(0)} MB`],
  byHandWallMs: ['by-hand loop wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  sampleWallMs: ['tool on the sample wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  nodeStartMs: ['node -e 0 wall time', (v) => `${v.toFixed(0)} ms`],
  versionMs: ['--version wall time', (v) => `${v.toFixed(0)} ms`],
};
const RATIO_LABELS = { fullOverFloor: 'full/floor', byHandOverTool: 'by-hand/tool', versionOverNode: '--version/node' };

/**
 * Compare a rerun with the recorded figures. A measured figure matches when its median moved by at
 * most the larger of NOISE_FLOOR and the relative spread (max-min over median) of either run. A
 * ratio may move by the allowances of the two figures it divides, added. Request counts must be
 * equal.
 */
export function compareFigures(previous, current) {
  const rows = [];
  const allowance = {};
  for (const [key, [label, format]] of Object.entries(LABELS)) {
    const a = previous[key];
    const b = current[key];
    if (!a || !b) continue;
    const spread = Math.max((a.max - a.min) / a.median, (b.max - b.min) / b.median);
    const allowed = Math.max(NOISE_FLOOR, spread);
    allowance[key] = allowed;
    const moved = Math.abs(b.median - a.median) / a.median;
    rows.push({ label, before: format(a.median), after: format(b.median), moved, allowed, match: moved <= allowed });
  }
  const parts = { fullOverFloor: ['fullWallMs', 'floorWallMs'], byHandOverTool: ['byHandWallMs', 'sampleWallMs'], versionOverNode: ['versionMs', 'nodeStartMs'] };
  for (const [key, label] of Object.entries(RATIO_LABELS)) {
    const a = previous.ratios?.[key];
    const b = current.ratios?.[key];
    if (typeof a !== 'number' || typeof b !== 'number') continue;
    const [top, bottom] = parts[key];
    const allowed = (allowance[top] ?? NOISE_FLOOR) + (allowance[bottom] ?? NOISE_FLOOR);
    const moved = Math.abs(b - a) / a;
    rows.push({ label, before: `${a.toFixed(2)}x`, after: `${b.toFixed(2)}x`, moved, allowed, match: moved <= allowed });
  }
  if (typeof previous.requests === 'number') {
    rows.push({ label: 'requests', before: String(previous.requests), after: String(current.requests), moved: previous.requests === current.requests ? 0 : 1, allowed: 0, match: previous.requests === current.requests });
  }
  return rows;
}

/** Format one line per compared figure, for stderr and for the page. */
export function comparisonLines(rows) {
  return rows.map((row) => `${row.label}: ${row.before} then ${row.after} (moved ${(row.moved * 100).toFixed(0)} %, allowed ${(row.allowed * 100).toFixed(0)} %): ${row.match ? 'matches' : 'differs'}`);
}
