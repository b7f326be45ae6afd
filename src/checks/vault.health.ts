import type { CheckContext } from '../context/context.js';
import type { VaultStore } from '../eso/model.js';
import type { Result } from '../report/types.js';
import { VaultError } from '../vault/client.js';
import { ResultBuilder, storeLabel, storeTarget, type Check, type CheckMeta } from './types.js';

const meta: CheckMeta = {
  id: 'vault.health',
  title: 'Vault is reachable, trusted, initialized and unsealed',
  description: 'GET sys/health on each store server: reachable, TLS trusted, initialized, unsealed, active or standby',
  group: 'vault',
  needs: ['vault'],
  modes: ['live'],
  messages: {
    active: 'Vault at {server} is initialized, unsealed and active (version {version}).',
    standby: 'Vault at {server} answered as an unsealed standby; standbys forward requests to the active node.',
    sealed: 'Vault at {server} is sealed; every login and read fails with 503 until it is unsealed.',
    uninitialized: 'Vault at {server} is not initialized.',
    dns: 'The host name of {server} does not resolve from here.',
    unreachable: 'Vault at {server} cannot be reached: {reason}.',
    'tls-untrusted': 'TLS verification of {server} failed: certificate signed by unknown authority.',
    'tls-hostname': "TLS verification of {server} failed: the certificate does not cover the server's host name.",
    'tls-other': 'The TLS handshake with {server} failed: {reason}.',
    'ca-invalid': 'The CA configured for {store} cannot be used: {reason}.',
    'skip-verify': 'TLS verification is switched off (--tls-skip-verify or VAULT_SKIP_VERIFY); ESO never skips it.',
    'http-error': 'sys/health on {server} returned an unexpected answer: {reason}.',
  },
};

async function checkStore(context: CheckContext, store: VaultStore, out: ResultBuilder): Promise<void> {
  const { address, source } = context.serverOf(store);
  const target = { ...storeTarget(store), kind: 'Vault' as const, server: address };
  const trust = await context.trust(store);
  if (trust.error) {
    out.add('fail', 'ca-invalid', storeTarget(store), `The CA configured for ${storeLabel(store)} cannot be used: ${trust.error}.`, {
      fix: { summary: 'Point caBundle or caProvider at a PEM certificate that signed the Vault server certificate.', commands: [] },
    });
  }
  if (context.options.tlsSkipVerify && address.startsWith('https:')) {
    out.add('warn', 'skip-verify', target, 'TLS verification is switched off (--tls-skip-verify or VAULT_SKIP_VERIFY). ESO never skips it, so a certificate problem it would hit stays hidden here.', {
      fix: { summary: 'Drop --tls-skip-verify and pass the CA with --ca-cert, or set caBundle/caProvider in the store.', commands: [] },
    });
  }

  const health = await context.health(store);
  if (health.ok) {
    const value = health.value;
    const details = { httpStatus: value.httpStatus, version: value.version, initialized: value.initialized, sealed: value.sealed, standby: value.standby, serverSource: source, trust: trust.source };
    if (!value.initialized) {
      out.add('fail', 'uninitialized', target, `Vault at ${address} is not initialized (sys/health HTTP ${value.httpStatus}).`, {
        details,
        fix: { summary: 'Initialize and unseal Vault before ESO can use it.', commands: [`VAULT_ADDR=${address} vault operator init`] },
      });
    } else if (value.sealed) {
      out.add('fail', 'sealed', target, `Vault at ${address} is sealed (sys/health HTTP ${value.httpStatus}); every login and read fails with 503 "Vault is sealed" until it is unsealed.`, {
        details,
        cause: 'A sealed node cannot decrypt its storage. If the store address is a Service over several pods, some of them may be sealed standbys.',
        fix: {
          summary: 'Unseal Vault, and point the store at a Service that selects only the active node.',
          commands: [`VAULT_ADDR=${address} vault operator unseal`, `VAULT_ADDR=${address} vault status`],
        },
      });
    } else if (value.standby || value.performanceStandby) {
      out.add('pass', 'standby', target, `Vault at ${address} is an unsealed ${value.performanceStandby ? 'performance ' : ''}standby (sys/health HTTP ${value.httpStatus}); standbys forward requests to the active node.`, { details });
    } else {
      out.add('pass', 'active', target, `Vault at ${address} is initialized, unsealed and active${value.version ? ` (version ${value.version})` : ''}.`, { details });
    }
    return;
  }

  const error = health.error;
  if (!(error instanceof VaultError)) throw error;
  const details = { serverSource: source, trust: trust.source, errorKind: error.kind, code: error.code };
  switch (error.kind) {
    case 'dns': {
      const forward = portForwardAdvice(address);
      out.add('fail', 'dns', target, `The host name of ${address} does not resolve from here (${error.code}). In-cluster names such as *.svc.cluster.local resolve only inside the cluster.`, {
        details,
        cause: `The address comes from ${source}.`,
        fix: {
          summary: forward
            ? `Forward the Vault service to this machine and pass the forwarded address; ESO inside the cluster keeps using ${address}.`
            : 'Check the host name, or run the check from a machine that resolves it.',
          commands: forward ? [forward.command, `vault-selfcheck --vault-addr ${forward.localAddress}`] : [],
        },
      });
      return;
    }
    case 'tls-untrusted':
      out.add('fail', 'tls-untrusted', target, `TLS verification of ${address} failed: certificate signed by unknown authority (trusting ${trust.source}).`, {
        details,
        cause: 'ESO trusts only the CA in caBundle or caProvider, or the system roots of its image when neither is set.',
        fix: {
          summary: 'Give the store the CA that signed the Vault certificate (caBundle is base64 of the PEM, encoded once), and pass the same CA to this tool with --ca-cert.',
          commands: [`vault-selfcheck --ca-cert vault-ca.pem`],
          yaml: 'spec:\n  provider:\n    vault:\n      caProvider:\n        type: ConfigMap\n        name: vault-ca\n        key: ca.crt\n        namespace: external-secrets\n',
        },
      });
      return;
    case 'tls-hostname':
      out.add('fail', 'tls-hostname', target, `${error.message}.`, {
        details,
        fix: { summary: "Use a server address whose host name is in the certificate's subject alternative names, or reissue the certificate with it.", commands: [`openssl s_client -connect ${hostPort(address)} </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName`] },
      });
      return;
    case 'tls':
    case 'tls-expired':
      out.add('fail', 'tls-other', target, `${error.message}.`, { details, fix: { summary: 'Check the server certificate and the TLS settings of the listener.', commands: [] } });
      return;
    case 'http':
      out.add('fail', 'http-error', target, `sys/health on ${address} returned an unexpected answer: ${error.message}.`, {
        details,
        fix: { summary: 'Check that the address points at Vault and not at a proxy or another service.', commands: [`curl -sS ${address}/v1/sys/health`] },
      });
      return;
    default:
      out.add('fail', 'unreachable', target, `Vault at ${address} cannot be reached: ${error.message}.`, {
        details,
        fix: {
          summary: error.kind === 'timeout' ? 'Check the network path to Vault, or raise --timeout.' : 'Check that Vault is running and listening on that address and port.',
          commands: [`curl -sS ${address}/v1/sys/health`],
        },
      });
  }
}

/** `kubectl port-forward` advice for an in-cluster Service address. */
export function portForwardAdvice(address: string): { command: string; localAddress: string } | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)(\.svc(\.cluster\.local)?)?$/.exec(url.hostname);
  if (!match) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return {
    command: `kubectl port-forward -n ${match[2]} svc/${match[1]} 8200:${port}`,
    localAddress: `${url.protocol}//127.0.0.1:8200`,
  };
}

function hostPort(address: string): string {
  try {
    const url = new URL(address);
    return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return address;
  }
}

export const check: Check = {
  meta,
  async run(context: CheckContext): Promise<Result[]> {
    const out = new ResultBuilder(meta);
    // Stores that share a server and trust get one result each but one request.
    for (const store of context.stores) await checkStore(context, store, out);
    return out.results;
  },
};
