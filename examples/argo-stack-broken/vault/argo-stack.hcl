# Written with the vault kv CLI path in mind; KV v2 serves data under kv/data/, so this grants
# nothing to ESO.
path "kv/argo/*" {
  capabilities = ["read"]
}
