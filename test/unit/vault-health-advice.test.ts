import { describe, expect, it } from 'vitest';

import { portForwardAdvice } from '../../src/checks/vault.health.js';

describe('portForwardAdvice', () => {
  it('forwards a cluster-local service', () => {
    expect(portForwardAdvice('https://vault.vault.svc.cluster.local:8200')).toEqual({
      command: 'kubectl port-forward -n vault svc/vault 8200:8200',
      localAddress: 'https://127.0.0.1:8200',
    });
  });

  it('handles a short service name with the default port', () => {
    expect(portForwardAdvice('http://openbao.openbao.svc')).toEqual({
      command: 'kubectl port-forward -n openbao svc/openbao 8200:80',
      localAddress: 'http://127.0.0.1:8200',
    });
  });

  it('gives no advice for other host names', () => {
    expect(portForwardAdvice('https://vault.example.com:8200')).toBeUndefined();
  });
});
