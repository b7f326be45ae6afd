// The scan that ends each robustness suite: no captured output may hold a secret value written
// to Vault, a JWT, or a Vault token. Hits are counted, never echoed.

const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
const VAULT_TOKEN = /\b(?:hvs|s)\.[A-Za-z0-9]{20,}/g;

export interface LeakScan {
  scannedBytes: number;
  canaryHits: number;
  jwtHits: number;
  vaultTokenHits: number;
  /** Which captured output each hit came from, by index, so a failure can be found without printing it. */
  outputsWithHits: number[];
}

export function scanForLeaks(outputs: string[], canaries: string[]): LeakScan {
  const scan: LeakScan = { scannedBytes: 0, canaryHits: 0, jwtHits: 0, vaultTokenHits: 0, outputsWithHits: [] };
  const secrets = canaries.filter((canary) => canary.length > 0);
  outputs.forEach((output, index) => {
    scan.scannedBytes += Buffer.byteLength(output);
    const before = scan.canaryHits + scan.jwtHits + scan.vaultTokenHits;
    for (const secret of secrets) scan.canaryHits += output.split(secret).length - 1;
    scan.jwtHits += output.match(JWT)?.length ?? 0;
    scan.vaultTokenHits += output.match(VAULT_TOKEN)?.length ?? 0;
    if (scan.canaryHits + scan.jwtHits + scan.vaultTokenHits > before) scan.outputsWithHits.push(index);
  });
  return scan;
}

/** Output lines that look like a JavaScript stack frame. */
export function stackFrames(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('    at '));
}
