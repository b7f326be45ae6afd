import type { CheckContext } from '../context/context.js';
import type { Result } from '../report/types.js';
import { ResultBuilder, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'crd.versions',
  title: 'The cluster serves the ESO API version current controllers use',
  description: 'external-secrets.io is served as v1, which ESO 0.16 and later controllers watch; v1beta1 alone means the CRDs are older than the controller may need',
  group: 'crd',
  needs: ['kube'],
  modes: ['live', 'lint'],
  messages: {
    ok: 'The cluster serves external-secrets.io {versions}.',
    'v1beta1-only': 'The cluster serves external-secrets.io only as v1beta1; ESO 0.16 and later controllers need v1.',
    'manifest-v1beta1': '{kind} {name} uses external-secrets.io/v1beta1, which ESO 0.17 and later no longer serve.',
    'unknown-version': '{kind} {name} uses {apiVersion}, which no ESO release serves.',
  },
};

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    if (context.mode === 'lint') {
      const objects = [
        ...context.stores.map((store) => ({ kind: store.kind, name: store.namespace ? `${store.namespace}/${store.name}` : store.name, apiVersion: store.apiVersion, location: store.location, store: store.ref })),
        ...context.externalSecrets.map((es) => ({ kind: 'ExternalSecret', name: `${es.namespace}/${es.name}`, apiVersion: es.apiVersion, location: es.location, store: undefined })),
      ];
      for (const object of objects.filter((candidate) => !['external-secrets.io/v1', 'external-secrets.io/v1beta1'].includes(candidate.apiVersion))) {
        out.add('fail', 'unknown-version', { kind: 'File', name: `${object.kind} ${object.name}`, location: object.location, store: object.store }, `${object.kind} ${object.name} uses ${object.apiVersion}, which no ESO release serves (ESO serves external-secrets.io/v1, and v1beta1 before 0.17); the API server rejects the manifest.`, {
          fix: { summary: 'Set apiVersion to external-secrets.io/v1.', commands: [], yaml: 'apiVersion: external-secrets.io/v1\n' },
        });
      }
      for (const object of objects.filter((candidate) => candidate.apiVersion === 'external-secrets.io/v1beta1')) {
        out.add('warn', 'manifest-v1beta1', { kind: 'File', name: `${object.kind} ${object.name}`, location: object.location, store: object.store }, `${object.kind} ${object.name} uses external-secrets.io/v1beta1. ESO 0.17 and later no longer serve it, so applying this manifest fails with "no matches for kind \"${object.kind}\" in version \"external-secrets.io/v1beta1\"".`, {
          fix: { summary: 'Change apiVersion to external-secrets.io/v1; the Vault provider fields are the same in both versions.', commands: [], yaml: 'apiVersion: external-secrets.io/v1\n' },
        });
      }
      return out.results;
    }
    const versions = context.esoVersions;
    if (versions.length === 0) return out.results;
    const target = { kind: 'File' as const, name: 'customresourcedefinitions external-secrets.io' };
    const list = versions.join(', ');
    if (!versions.includes('v1')) {
      out.add('warn', 'v1beta1-only', target, `The cluster serves external-secrets.io only as ${list}. ESO 0.16 and later controllers watch external-secrets.io/v1 and stop with "no matches for kind ExternalSecret in version external-secrets.io/v1" against these CRDs.`, {
        details: { versions },
        fix: {
          summary: 'Apply the CRDs of the same ESO release as the controller (or let the Helm release manage CRDs), then restart the controller.',
          commands: ['kubectl get crd externalsecrets.external-secrets.io -o jsonpath={.spec.versions[*].name}', 'kubectl -n external-secrets get deploy -o jsonpath={..image}'],
        },
      });
      return out.results;
    }
    out.add('pass', 'ok', target, `The cluster serves external-secrets.io ${list}.`, { details: { versions } });
    return out.results;
  },
};
