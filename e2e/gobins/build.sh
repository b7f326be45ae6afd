#!/usr/bin/env bash
# Builds the real test servers (etcd, kube-apiserver, HashiCorp Vault 1.14.2) from their Go modules
# through the wrapper modules beside this script. Each binary is cached outside the repository under
# a key made from its wrapper's go.mod, go.sum and build flags, so a later run with the same pins
# builds nothing.
#
#   build.sh [NAME...]          build whatever is missing, then print NAME=PATH lines
#   build.sh --paths [NAME...]  print NAME=PATH lines of cached binaries; exit 3 if one is missing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VAULT_SELFCHECK_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-selfcheck/e2e-bin}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath

k8s_ldflags() {
  local v=v1.36.3 flags="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags="$flags -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=36 -X $p.gitTreeState=clean"
  done
  printf '%s' "$flags"
}

# name|binary|package|tags|ldflags
targets=(
  "etcd|etcd|go.etcd.io/etcd/server/v3||-s -w"
  "kube-apiserver|kube-apiserver|k8s.io/kubernetes/cmd/kube-apiserver|selinux,notest,grpcnotrace|$(k8s_ldflags)"
  "vault|vault|github.com/hashicorp/vault|vault|-s -w -X github.com/hashicorp/vault/sdk/version.Version=1.14.2 -X github.com/hashicorp/vault/sdk/version.VersionPrerelease="
)

key_of() { # name tags ldflags
  local patch=''
  [[ "$1" == vault ]] && patch="$VAULT_SDK_PATCH"$'\n'
  cat "$here/$1/go.mod" "$here/$1/go.sum" <(printf '%s\n%s\n%s\n%s' "$2" "$3" "$(go env GOVERSION)" "$patch") |
    sha256sum | cut -c1-16
}

# Vault 1.14.2 was released with the sdk of its own tree, which no tagged sdk module matches. The
# nearest tag, sdk v0.9.2, has everything 1.14.2 calls but also a start-up assertion (every path
# with a create operation needs an existence check) that 1.14.2's own sys backend fails, so Vault
# panics on its first request. The build copies sdk v0.9.2 from the module cache to a scratch
# directory outside the repository, removes that assertion, and builds with a replace pointing
# there. Nothing of it is kept in the repository.
VAULT_SDK_PATCH="remove-existence-check-assertion-1"

build_one() { # name package tags ldflags output
  local name=$1 pkg=$2 tags=$3 ldflags=$4 output=$5 workdir
  (cd "$here/$name" && go mod download)
  if [[ "$name" != vault ]]; then
    (cd "$here/$name" && go build ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$output" "$pkg")
    return
  fi
  workdir=$(mktemp -d)
  trap 'rm -rf "$workdir"' RETURN
  cp "$here/vault/go.mod" "$here/vault/go.sum" "$workdir/"
  local sdk
  sdk=$(cd "$workdir" && go list -m -f '{{.Dir}}' github.com/hashicorp/vault/sdk)
  cp -r "$sdk" "$workdir/sdk"
  chmod -R u+w "$workdir/sdk"
  local file="$workdir/sdk/framework/backend.go"
  local count
  count=$(grep -c 'panic(fmt.Sprintf("Pattern %v defines a CreateOperation but no ExistenceCheck", p.Pattern))' "$file" || true)
  if [[ "$count" != 2 ]]; then
    echo "error: the sdk assertion to remove was not found in $sdk (found $count of 2 lines)" >&2
    return 1
  fi
  sed -i 's|panic(fmt.Sprintf("Pattern %v defines a CreateOperation but no ExistenceCheck", p.Pattern))|// assertion removed for the test build|' "$file"
  (cd "$workdir" && go mod edit -replace=github.com/hashicorp/vault/sdk=./sdk && go build ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$output" "$pkg")
}

paths_only=0
if [[ "${1:-}" == "--paths" ]]; then paths_only=1; shift; fi
only=" $* "

if ! command -v go >/dev/null 2>&1; then
  echo "error: the Go toolchain is missing; the test servers are built with Go 1.26 (go version go1.26.x)." >&2
  echo "Install Go 1.26 and put it on PATH, then run this again." >&2
  exit 2
fi

missing=0
out=()
for t in "${targets[@]}"; do
  IFS='|' read -r name bin pkg tags ldflags <<<"$t"
  [[ "$only" == "  " || "$only" == *" $name "* ]] || continue
  dir="$cache/$name-$(key_of "$name" "$tags" "$ldflags")"
  path="$dir/$bin"
  out+=("$name=$path")
  [[ -x "$path" ]] && continue
  if (( paths_only )); then missing=1; continue; fi
  mkdir -p "$cache/logs" "$dir"
  log="$cache/logs/$name.log"
  echo "building $name (log: $log) ..." >&2
  start=$(date +%s)
  if ! build_one "$name" "$pkg" "$tags" "$ldflags" "$path.tmp" >"$log" 2>&1; then
    echo "error: building $name failed after $(( $(date +%s) - start )) s; the last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 2
  fi
  mv "$path.tmp" "$path"
  echo "built $name in $(( $(date +%s) - start )) s" >&2
done
printf '%s\n' "${out[@]}"
exit $(( missing ? 3 : 0 ))
