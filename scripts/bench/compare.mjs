// The figures of one benchmark run as JSON (docs/benchmarks.json), and the comparison of a rerun
// with the recorded run, so that "the page matches a rerun" is a printed verdict, not a judgment.

/**
 * Relative difference of two medians that still counts as the same figure. It is set above the
 * movement seen between consecutive runs on a 2-core machine shared with the servers, up to 14 %
 * for one median and 6 % for a ratio. The page shows the movement among the recorded runs.
 */
export const NOISE_FLOOR = 0.15;

/** How many earlier runs docs/benchmarks.json keeps besides the latest. */
export const HISTORY_KEPT = 9;

/** List the runs a figures file records, oldest first, the latest last. */
export function recordsOf(recorded) {
  return [...(recorded.history ?? []), { date: recorded.date, figures: recorded.figures }];
}

/**
 * Find the figure whose median moved most among recorded runs: the largest of (max - min) / min
 * over each figure's medians. Undefined with fewer than two runs.
 */
export function largestMovement(records) {
  if (records.length < 2) return undefined;
  let largest;
  for (const [key, [label, format]] of Object.entries(LABELS)) {
    const medians = records.map((record) => record.figures[key]?.median).filter((value) => typeof value === 'number');
    if (medians.length < 2) continue;
    const low = Math.min(...medians);
    const high = Math.max(...medians);
    const moved = (high - low) / low;
    if (!largest || moved > largest.moved) largest = { runs: records.length, label, moved, from: format(low), to: format(high) };
  }
  return largest;
}

/**
 * Return the relative spread of one figure: the interquartile range over the median when it has 8
 * or more runs, else max-min over the median. With many runs, one slow run then does not widen
 * the allowance.
 */
function spreadOf(figure) {
  const quartiles = figure.n >= 8 && typeof figure.q1 === 'number' && typeof figure.q3 === 'number';
  return quartiles ? (figure.q3 - figure.q1) / figure.median : (figure.max - figure.min) / figure.median;
}

/**
 * Collect the figures to record: each a median with its min-max over the repetitions, or a single
 * number for counts and ratios.
 */
export function figuresOf(r) {
  const round = (value) => Math.round(value * 1000) / 1000;
  const range = (s) => (s ? { median: round(s.median), min: round(s.min), max: round(s.max), q1: round(s.q1), q3: round(s.q3), n: s.n } : null);
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

/** @type {Record<string, [string, (value: number) => string]>} */
const LABELS = {
  fullWallMs: ['full check wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  floorWallMs: ['floor wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  peakMB: ['full check peak memory', (v) => `${v.toFixed(0)} MB`],
  fullCpuS: ['full check CPU time', (v) => `${v.toFixed(2)} s`],
  floorCpuS: ['floor CPU time', (v) => `${v.toFixed(2)} s`],
  byHandWallMs: ['by-hand loop wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  sampleWallMs: ['tool on the sample wall time', (v) => `${(v / 1000).toFixed(2)} s`],
  nodeStartMs: ['node -e 0 wall time', (v) => `${v.toFixed(0)} ms`],
  versionMs: ['--version wall time', (v) => `${v.toFixed(0)} ms`],
  helpMs: ['--help wall time', (v) => `${v.toFixed(0)} ms`],
};
/** @type {Record<string, string>} */
const RATIO_LABELS = { fullOverFloor: 'full/floor', byHandOverTool: 'by-hand/tool', versionOverNode: '--version/node' };

/**
 * Compare a rerun with the recorded figures. A measured figure matches when its median moved by at
 * most the larger of NOISE_FLOOR and the relative spread (spreadOf) of either run. A ratio may
 * move by the larger allowance of the two figures it divides. Request counts must be equal.
 */
export function compareFigures(previous, current) {
  const rows = [];
  const allowance = {};
  for (const [key, [label, format]] of Object.entries(LABELS)) {
    const a = previous[key];
    const b = current[key];
    if (!a || !b) continue;
    const spread = Math.max(spreadOf(a), spreadOf(b));
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
    // A slower or faster machine moves both figures of a ratio, so the ratio keeps the larger of
    // their allowances, not their sum.
    const allowed = Math.max(allowance[top] ?? NOISE_FLOOR, allowance[bottom] ?? NOISE_FLOOR);
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
