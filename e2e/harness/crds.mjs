// Installs the repository's minimal External Secrets Operator CRDs into the test kube-apiserver.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { waitForCrdsEstablished } from './kube.mjs';

export const CRD_FILE = fileURLToPath(new URL('../crds/external-secrets.yaml', import.meta.url));

/** Names of the CRDs in CRD_FILE. */
export const CRD_NAMES = [
  'externalsecrets.external-secrets.io',
  'secretstores.external-secrets.io',
  'clustersecretstores.external-secrets.io',
  'clusterexternalsecrets.external-secrets.io',
];

/**
 * Reads the CRDs from CRD_FILE, optionally with v1beta1 not served.
 * @param {{ serveV1beta1?: boolean }} [options]
 * @returns {Promise<import('./kube.mjs').KubeObject[]>}
 */
export async function readExternalSecretsCrds({ serveV1beta1 = true } = {}) {
  const documents = parseAllDocuments(await readFile(CRD_FILE, 'utf8'));
  const crds = documents.map((document) => /** @type {any} */ (document.toJS())).filter(Boolean);
  for (const crd of crds) {
    for (const version of crd.spec.versions) {
      if (version.name === 'v1beta1') version.served = serveV1beta1;
    }
  }
  return crds;
}

/**
 * Applies the CRDs and waits until they are Established. Calling it again with
 * `{ serveV1beta1: false }` switches a running cluster to the layout of ESO 0.17 and later, which
 * serves only v1. Objects stored as v1 stay readable.
 * @param {import('./kube.mjs').KubeClient} kube
 * @param {{ serveV1beta1?: boolean }} [options]
 */
export async function applyExternalSecretsCrds(kube, options = {}) {
  const crds = await readExternalSecretsCrds(options);
  for (const crd of crds) await kube.apply(crd);
  await waitForCrdsEstablished(kube, crds.map((crd) => crd.metadata.name));
  await waitForServedVersions(kube, options.serveV1beta1 ?? true);
}

/**
 * Waits until API discovery for external-secrets.io matches the requested versions, because
 * an update of `served` reaches the discovery documents a moment after the CRD is written.
 * @param {import('./kube.mjs').KubeClient} kube
 * @param {boolean} serveV1beta1
 */
async function waitForServedVersions(kube, serveV1beta1) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status, body } = await kube.request('GET', '/apis/external-secrets.io', { okStatuses: [404] });
    const served = status === 404 ? [] : body.versions.map((/** @type {any} */ v) => v.version);
    if (served.includes('v1') && served.includes('v1beta1') === serveV1beta1) return;
    if (Date.now() > deadline) {
      throw new Error(
        `API discovery for external-secrets.io serves [${served.join(', ')}] 30 s after applying the CRDs, ` +
          `expected v1${serveV1beta1 ? ' and v1beta1' : ' only'}; read the kube-apiserver log in the run directory`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
