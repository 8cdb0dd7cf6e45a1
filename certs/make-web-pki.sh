#!/usr/bin/env bash
# Creates a development web PKI for the gateway's HTTPS, with openssl:
#   DIR/server.pem, DIR/server-key.pem   server certificate for 127.0.0.1 and localhost
#   DIR/ca.pem, DIR/ca-key.pem           CA for client certificates (--client-ca)
#   DIR/client.pem, DIR/client-key.pem   a client certificate: CN=ci-bot, OU=ci
# The server certificate is signed by the same CA, so `curl --cacert DIR/ca.pem` trusts it.
# Nothing here is for production keys.
set -euo pipefail
dir=${1:?usage: certs/make-web-pki.sh DIR [client-CN] [client-OU]}
cn=${2:-ci-bot}
ou=${3:-ci}
mkdir -p "$dir"
cd "$dir"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout ca-key.pem -out ca.pem -days 365 -subj "/CN=Berth dev web CA" 2>/dev/null
openssl req $ec -keyout server-key.pem -out server.csr -subj "/CN=localhost" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 -out server.pem \
  -extfile <(printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth") 2>/dev/null
openssl req $ec -keyout client-key.pem -out client.csr -subj "/O=Berth/OU=$ou/CN=$cn" 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 -out client.pem \
  -extfile <(printf "extendedKeyUsage=clientAuth") 2>/dev/null
rm -f server.csr client.csr ca.srl
chmod 600 ./*-key.pem
echo "wrote $dir: server.pem server-key.pem ca.pem client.pem client-key.pem (CN=$cn, OU=$ou)"
