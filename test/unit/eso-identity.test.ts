import { describe, expect, it } from 'vitest';

import { loginIdentities } from '../../src/eso/identity.js';
import { parseExternalSecret, parseVaultStore, type ExternalSecretView } from '../../src/eso/model.js';

function store(kind: 'ClusterSecretStore' | 'SecretStore', saRef: Record<string, unknown>, namespace?: string) {
  return parseVaultStore({
    apiVersion: 'external-secrets.io/v1',
    kind,
    metadata: { name: 's', namespace },
    spec: { provider: { vault: { server: 'http://vault:8200', path: 'kv', auth: { kubernetes: { role: 'r', serviceAccountRef: saRef } } } } },
  });
}

function es(namespace: string, name: string): ExternalSecretView {
  return parseExternalSecret({ metadata: { name, namespace }, spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 's' }, data: [] } });
}

describe('loginIdentities', () => {
  it('uses the ref namespace on a ClusterSecretStore', () => {
    const ids = loginIdentities(store('ClusterSecretStore', { name: 'sa', namespace: 'eso' }), [es('a', 'x'), es('b', 'y')]);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatchObject({ serviceAccount: 'sa', namespace: 'eso', rule: 'ref-namespace' });
  });

  it('resolves per consumer namespace without ref namespace', () => {
    const ids = loginIdentities(store('ClusterSecretStore', { name: 'sa' }), [es('b', 'y'), es('a', 'x'), es('a', 'z')]);
    expect(ids.map((id) => id.namespace)).toEqual(['a', 'b']);
    expect(ids[0]!.consumers).toEqual(['a/x', 'a/z']);
    expect(ids[0]!.rule).toBe('consumer-namespace');
  });

  it('ignores the ref namespace on a SecretStore', () => {
    const ids = loginIdentities(store('SecretStore', { name: 'sa', namespace: 'other' }, 'app'), [es('app', 'x')]);
    expect(ids[0]).toMatchObject({ namespace: 'app', rule: 'store-namespace' });
  });

  it('keeps audiences from the ref', () => {
    const ids = loginIdentities(store('ClusterSecretStore', { name: 'sa', namespace: 'eso', audiences: ['vault'] }), []);
    expect(ids[0]!.audiences).toEqual(['vault']);
  });

  it('uses the controller without serviceAccountRef', () => {
    const noRef = parseVaultStore({
      kind: 'ClusterSecretStore',
      metadata: { name: 's' },
      spec: { provider: { vault: { server: 'http://vault:8200', auth: { kubernetes: { role: 'r' } } } } },
    });
    expect(loginIdentities(noRef, [es('a', 'x')])).toEqual([]);
    const ids = loginIdentities(noRef, [es('a', 'x')], { namespace: 'external-secrets', name: 'external-secrets' });
    expect(ids[0]).toMatchObject({ namespace: 'external-secrets', serviceAccount: 'external-secrets', rule: 'controller', audiences: [] });
  });
});
