#!/usr/bin/env bash
# Regenerates the test client certificates: key pairs for the certificate credential flow against the
# simulated tenant (client.pem is registered there; rogue-combined.pem is not and must be rejected).
# Each is self-signed and no one trusts it as a CA: they only prove possession of a key. The TLS
# material of the stand-ins (CA and server certificate) is not here: it is generated on each machine
# under .local/pki by tools/local/localPki.ts, and its CA key is discarded at once.
# These keys protect nothing. Valid for 10 years.
set -euo pipefail
cd "$(dirname "$0")"
days=3650
openssl req -x509 -newkey rsa:2048 -nodes -keyout client.key -out client.pem -days "$days" \
  -subj "/CN=m365-audit-ingest test client" -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=clientAuth"
cat client.pem client.key > client-combined.pem
# A second, unregistered client certificate: the simulated tenant must reject its assertions.
openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.pem -days "$days" -subj "/CN=rogue" \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature"
cat rogue.pem rogue.key > rogue-combined.pem
rm -f rogue.key rogue.pem
