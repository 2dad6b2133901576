#!/usr/bin/env bash
# Regenerates the test PKI: a CA, a localhost server certificate and a client certificate
# (for the certificate credential flow against the simulated tenant). Valid for 10 years.
# These keys are for local tests only and protect nothing.
set -euo pipefail
cd "$(dirname "$0")"
days=3650
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days "$days" \
  -subj "/CN=m365-audit-ingest test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days "$days" -extfile server.ext
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=m365-audit-ingest test client"
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days "$days" -extfile client.ext
cat client.pem client.key > client-combined.pem
# A second, unregistered client certificate: the simulated tenant must reject its assertions.
openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.pem -days "$days" -subj "/CN=rogue"
cat rogue.pem rogue.key > rogue-combined.pem
rm -f server.csr client.csr server.ext client.ext ca.srl rogue.key rogue.pem
