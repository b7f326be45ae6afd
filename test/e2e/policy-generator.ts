// Random Vault ACL policies and request paths for the differential test against a real Vault.
// Rules and paths come from one small vocabulary, so that most rules match some path of their
// case and several rules compete for the same path. The output depends only on the seed.

export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo'] as const;

const MOUNTS: readonly string[][] = [['kv'], ['secret'], ['team', 'kv']];
const SEGMENTS: readonly string[] = ['data', 'metadata', 'argo', 'app', 'a', 'ab', 'x'];
const LEGACY_POLICIES: readonly string[] = ['deny', 'read', 'write', 'sudo'];

export interface GeneratedPolicy {
  /** Index of the policy within its case; the runner picks the Vault name. */
  index: number;
  format: 'hcl' | 'json';
  text: string;
  /** The patterns as written, in order, for messages. */
  patterns: string[];
}

export interface GeneratedCase {
  id: number;
  policies: GeneratedPolicy[];
  /** Distinct request paths without commas or spaces, which sys/capabilities would split at. */
  paths: string[];
}

/** A small, fast generator with 32 bits of state (mulberry32), so a seed reproduces a run. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns a float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Returns an integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('Random.pick needs a non-empty list');
    return item;
  }

  /** Picks an index with the given relative weights. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    let roll = this.next() * total;
    for (let index = 0; index < weights.length; index++) {
      roll -= weights[index] ?? 0;
      if (roll < 0) return index;
    }
    return weights.length - 1;
  }
}

/** Generates case `id` of the run with `seed`. Each case has its own stream, so a case can be replayed alone. */
export function generateCase(seed: number, id: number): GeneratedCase {
  const random = new Random((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b)) >>> 0);
  // Anchors are the paths that this case's rules and requests cluster around.
  const anchors = Array.from({ length: random.int(1, 3) }, () => randomSegments(random));

  const written: string[] = [];
  const policies: GeneratedPolicy[] = [];
  const policyCount = random.int(1, 4);
  for (let index = 0; index < policyCount; index++) {
    const blocks: Block[] = [];
    const blockCount = random.int(1, 6);
    for (let b = 0; b < blockCount; b++) {
      // Reusing a pattern, from this policy or another one, exercises the merge of equal patterns.
      let pattern: string | undefined;
      if (written.length > 0 && random.chance(0.2)) pattern = random.pick(written);
      else if (random.chance(0.1)) pattern = swapWildcard(random, written);
      pattern ??= randomPattern(random, anchors);
      written.push(pattern);
      blocks.push({ pattern, ...randomCapabilities(random) });
    }
    const format = random.chance(0.15) ? 'json' : 'hcl';
    policies.push({ index, format, text: format === 'json' ? renderJson(random, blocks) : renderHcl(random, blocks), patterns: blocks.map((block) => block.pattern) });
  }

  const paths = new Set<string>();
  const pathCount = random.int(6, 10);
  for (let attempt = 0; paths.size < pathCount && attempt < pathCount * 4; attempt++) {
    const path = randomRequestPath(random, anchors, written);
    if (path !== '' && !/[,\s]/.test(path)) paths.add(path);
  }
  return { id, policies, paths: [...paths] };
}

/** Returns a concrete path as segments: a mount, then zero to four segments, KV v2 style half of the time. */
function randomSegments(random: Random): string[] {
  const segments = [...random.pick(MOUNTS)];
  const depth = random.weighted([1, 3, 4, 3, 2]);
  for (let i = 0; i < depth; i++) {
    segments.push(i === 0 && random.chance(0.5) ? random.pick(['data', 'metadata']) : random.pick(SEGMENTS));
  }
  return segments;
}

function nearAnchor(random: Random, anchors: readonly string[][]): string[] {
  if (random.chance(0.2)) return randomSegments(random);
  const segments = [...random.pick(anchors)];
  // Shorten or lengthen a little, so rules sit at different depths of the same tree.
  const change = random.weighted([5, 2, 2]);
  if (change === 1 && segments.length > 1) segments.pop();
  if (change === 2) segments.push(random.pick(SEGMENTS));
  return segments;
}

/**
 * Returns a pattern that Vault accepts: exact, a "*" prefix (after a "/" or inside a segment), "+"
 * segments anywhere (alone, leading, in the middle, last), or "+" segments with a trailing "*".
 */
function randomPattern(random: Random, anchors: readonly string[][]): string {
  const segments = nearAnchor(random, anchors);
  const kind = random.weighted([30, 30, 25, 15]);
  if (kind === 0) {
    const trailingSlash = random.chance(0.15) ? '/' : '';
    return withLeadingSlash(random, segments.join('/') + trailingSlash);
  }
  if (kind === 1) {
    if (random.chance(0.03)) return random.pick(['*', 'k*', 't*']);
    return withLeadingSlash(random, globTail(random, segments));
  }

  // Segment rules: one or two "+" segments, and occasionally every segment.
  if (random.chance(0.05)) {
    segments.fill('+');
  } else {
    const wildcards = random.int(1, 4) === 4 ? 2 : 1;
    for (let i = 0; i < wildcards; i++) segments[random.int(0, segments.length - 1)] = '+';
  }
  if (random.chance(0.04)) segments.splice(0, segments.length, '+');
  if (kind === 3) return withLeadingSlash(random, globTail(random, segments));
  const trailingSlash = random.chance(0.1) ? '/' : '';
  return withLeadingSlash(random, segments.join('/') + trailingSlash);
}

/**
 * Moves a "+" of a written segment rule to another segment after its first "+", and that
 * segment's text to where the "+" was. The two rules then tie on every ranking criterion but the
 * byte order, and both match a path that repeats the moved text.
 */
function swapWildcard(random: Random, written: readonly string[]): string | undefined {
  const candidates = written.filter((pattern) => pattern.includes('/+') || pattern.startsWith('+/'));
  if (candidates.length === 0) return undefined;
  const segments = random.pick(candidates).split('/');
  const first = segments.indexOf('+');
  const last = segments[segments.length - 1] ?? '';
  // A trailing "*" stays where it is, so the last segment only takes part without one.
  const end = last.endsWith('*') || last === '' ? segments.length - 1 : segments.length;
  const movable = segments.map((_, index) => index).filter((index) => index > first && index < end);
  const plus = movable.filter((index) => segments[index] === '+');
  const text = movable.filter((index) => segments[index] !== '+');
  if (plus.length === 0 || text.length === 0) return undefined;
  const from = random.pick(plus);
  const to = random.pick(text);
  segments[from] = segments[to] ?? '';
  segments[to] = '+';
  return segments.join('/');
}

/** Ends the segments with "*": after a "/", after the whole last segment, or inside it. */
function globTail(random: Random, segments: string[]): string {
  const last = segments[segments.length - 1] ?? '';
  const choice = random.weighted([4, 2, 3]);
  // "+*" is forbidden, so a "+" segment can only be followed by "/*".
  if (choice === 0 || last === '+') return `${segments.join('/')}/*`;
  if (choice === 1) return `${segments.join('/')}*`;
  const cut = random.int(0, Math.max(0, last.length - 1));
  return `${[...segments.slice(0, -1), last.slice(0, cut)].join('/')}*`;
}

function withLeadingSlash(random: Random, pattern: string): string {
  // Vault strips exactly one leading "/" from a pattern.
  return random.chance(0.04) ? `/${pattern}` : pattern;
}

/** Returns a request path: near an anchor, a concrete instance of a rule, or a random one. */
function randomRequestPath(random: Random, anchors: readonly string[][], patterns: readonly string[]): string {
  let path: string;
  const source = random.weighted([5, 4, 1]);
  if (source === 0) {
    const segments = nearAnchor(random, anchors);
    if (random.chance(0.2)) {
      // Extends the last segment, so that mid-segment globs such as "a*" have something to match.
      const last = segments.pop() ?? '';
      segments.push(last + random.pick(SEGMENTS));
    }
    path = segments.join('/');
  } else if (source === 1 && patterns.length > 0) {
    path = instantiate(random, random.pick(patterns).replace(/^\//, ''));
  } else {
    path = randomSegments(random).join('/');
  }
  if (!path.endsWith('/') && random.chance(0.3)) path += '/';
  else if (path.endsWith('/') && random.chance(0.3)) path = path.slice(0, -1);
  if (random.chance(0.03)) path = `/${path}`;
  return path;
}

/** Replaces the wildcards of a pattern with vocabulary, so the path matches it or nearly does. */
function instantiate(random: Random, pattern: string): string {
  const literals = pattern.split('/').filter((segment) => segment !== '+' && segment !== '' && !segment.includes('*'));
  // Filling a "+" with a segment of the same pattern lets rules with moved "+" segments compete.
  const fill = (): string => (literals.length > 0 && random.chance(0.4) ? random.pick(literals) : random.pick(SEGMENTS));
  const segments = pattern.split('/').map((segment) => (segment === '+' ? fill() : segment));
  let path = segments.join('/');
  if (path.endsWith('*')) {
    path = path.slice(0, -1);
    const tail = random.weighted([2, 3, 2]);
    if (tail === 1) path += random.pick(SEGMENTS);
    if (tail === 2) path += `${random.pick(SEGMENTS)}/${random.pick(SEGMENTS)}`;
  }
  return path;
}

interface Block {
  pattern: string;
  capabilities: string[];
  /** The pre-0.9 `policy = "..."` key, written with or instead of `capabilities`. */
  legacy?: string;
}

function randomCapabilities(random: Random): Omit<Block, 'pattern'> {
  const count = random.weighted([5, 35, 30, 20, 10]);
  const capabilities: string[] = [];
  while (capabilities.length < count) {
    const capability = random.pick(CAPABILITIES);
    if (!capabilities.includes(capability)) capabilities.push(capability);
  }
  // Vault keeps only "deny" from a list that contains it, wherever it appears.
  if (random.chance(0.12)) capabilities.splice(random.int(0, capabilities.length), 0, 'deny');
  if (capabilities.length > 0 && random.chance(0.03)) capabilities.push(random.pick(capabilities));
  const block: Omit<Block, 'pattern'> = { capabilities };
  if (random.chance(0.03)) block.legacy = random.pick(LEGACY_POLICIES);
  return block;
}

function renderHcl(random: Random, blocks: readonly Block[]): string {
  const lines: string[] = [];
  if (random.chance(0.2)) lines.push(random.pick(['# generated policy', '// generated policy', '/* generated policy */']));
  for (const block of blocks) {
    const quoted = block.capabilities.map((capability) => JSON.stringify(capability));
    const legacy = block.legacy === undefined ? '' : `policy = ${JSON.stringify(block.legacy)}`;
    const style = random.weighted([5, 3, 2]);
    if (style === 0) {
      lines.push(`path ${JSON.stringify(block.pattern)} {`, `  capabilities = [${quoted.join(', ')}]`);
      if (legacy !== '') lines.push(`  ${legacy}`);
      lines.push('}');
    } else if (style === 1) {
      lines.push(`path ${JSON.stringify(block.pattern)} { capabilities = [${quoted.join(',')}]${legacy === '' ? '' : ` ${legacy}`} }`);
    } else {
      lines.push(`path ${JSON.stringify(block.pattern)} {`, '  # one capability a line, with a trailing comma', '  capabilities = [');
      for (const capability of quoted) lines.push(`    ${capability},`);
      lines.push('  ]');
      if (legacy !== '') lines.push(`  ${legacy}`);
      lines.push('}');
    }
    if (random.chance(0.2)) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function renderJson(random: Random, blocks: readonly Block[]): string {
  const body = (block: Block): string => {
    const fields = [`"capabilities": ${JSON.stringify(block.capabilities)}`];
    if (block.legacy !== undefined) fields.push(`"policy": ${JSON.stringify(block.legacy)}`);
    return `{${fields.join(', ')}}`;
  };
  // JSON objects are written by hand, because a repeated pattern must stay a repeated key.
  if (random.chance(0.3)) {
    const items = blocks.map((block) => `    {${JSON.stringify(block.pattern)}: ${body(block)}}`);
    return `{\n  "path": [\n${items.join(',\n')}\n  ]\n}\n`;
  }
  const members = blocks.map((block) => `    ${JSON.stringify(block.pattern)}: ${body(block)}`);
  return `{\n  "path": {\n${members.join(',\n')}\n  }\n}\n`;
}
