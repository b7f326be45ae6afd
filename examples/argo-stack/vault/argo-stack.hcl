# Read access for ESO to the argo-stack secrets. KV v2 serves secret data under kv/data/.
path "kv/data/argo/*" {
  capabilities = ["read"]
}
