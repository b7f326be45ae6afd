// Only client-node's KubeConfig, which reads kubeconfig files and resolves credentials. The build
// bundles this module on its own (scripts/bundle.mjs): importing the package loads some 800
// generated API modules first, about 0.4 s and 60 MiB, and this tool sends its requests with undici.
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
