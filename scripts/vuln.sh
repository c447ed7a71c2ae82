#!/usr/bin/env bash
# govulncheck without network access to vuln.go.dev: builds a local
# vulnerability database from golang.org/x/vulndb's OSV entries (data/osv)
# with that module's own indexer (cmd/indexdb), then runs
# `go tool govulncheck -db file://<db>` on the module.
#
#   scripts/vuln.sh                                  # ./... (text, traces abbreviated)
#   scripts/vuln.sh ./functions/participants         # only what the Lambda binary links
#   scripts/vuln.sh -show verbose ./...              # any govulncheck arguments
#   VULN_TRACES=all scripts/vuln.sh                  # every trace govulncheck prints
#
# The vulndb module and indexdb are fetched and run outside this module
# (from the module cache, or the Go module proxy when missing): as a go.mod
# tool, indexdb would add 54 modules (Cloud, gRPC, OpenTelemetry, go-git) and
# upgrade 9 that the product links. VULNDB_VERSION picks another snapshot.
# GOTOOLCHAIN defaults to auto, as in the Makefile: the scan then uses
# go.mod's toolchain, not an older local Go's standard library.
# Exit status: govulncheck's (3 when the code calls a known vulnerability).
set -euo pipefail
cd "$(dirname "$0")/.."

VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
export AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Outside any module: a download of an explicit version edits no go.mod.
src=$(cd "$tmp" && GOFLAGS= go mod download -json "golang.org/x/vulndb@${VULNDB_VERSION}" |
  sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
  echo "vuln.sh: golang.org/x/vulndb@${VULNDB_VERSION} has no data/osv (got '${src}')" >&2
  exit 1
fi

(cd "$tmp" && GOFLAGS= go run "golang.org/x/vulndb/cmd/indexdb@${VULNDB_VERSION}" -vulns "$src/data/osv" -out "$tmp/db")

args=("$@")
if [ ${#args[@]} -eq 0 ]; then args=(./...); fi
echo "go tool govulncheck -db file://\$db ${args[*]} ($(go env GOVERSION), golang.org/x/vulndb@${VULNDB_VERSION})"

status=0
if [ "${VULN_TRACES:-}" = all ]; then
  go tool govulncheck -db "file://$tmp/db" "${args[@]}" || status=$?
else
  # Keep the first 3 example traces of each vulnerability: symbol lists
  # such as net/http's otherwise print hundreds of lines each.
  set +e
  go tool govulncheck -db "file://$tmp/db" "${args[@]}" | awk '
    function flush() { if (extra > 0) printf "      ... %d more traces (VULN_TRACES=all shows them)\n", extra; extra = 0 }
    /^      #[0-9]+: / { n++; if (n <= 3) print; else extra++; next }
    { flush(); if ($0 ~ /^Vulnerability #/) n = 0; print }
    END { flush() }'
  status=${PIPESTATUS[0]}
  set -e
fi
exit "$status"
