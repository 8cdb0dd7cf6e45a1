#!/usr/bin/env bash
# Creates a development PKI for running Berth as separate processes:
#   DIR/cp   control plane data directory (CA, control-plane certificate, SQLite)
#   DIR/gw   a gateway certificate
# and prints a join token for a node. Nothing here is for production keys.
set -euo pipefail
dir=${1:?usage: certs/make-dev-pki.sh DIR [control-plane-host:port]}
server=${2:-127.0.0.1:7420}
berth=${BERTH:-$(dirname "$0")/../.build/debug/berth}
"$berth" ca init --data-dir "$dir/cp"
"$berth" ca issue-gateway --data-dir "$dir/cp" --name dev-gateway --out "$dir/gw"
"$berth" token create --data-dir "$dir/cp" --server "$server"
