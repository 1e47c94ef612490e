#!/usr/bin/env bash
# Makes the TLS fixtures of the tests (test/fixtures/tls): a CA, a broker certificate for the loopback
# addresses the tests and chaos scenarios bind (127.0.0.1, 127.0.1-3.1-9, localhost), a client certificate
# signed by the same CA, a second CA that the brokers do not trust and an "intruder" broker certificate it
# signed (for the same addresses: only the CA tells it apart). Valid for 100 years: they
# secure nothing but tests. Run again only to change them.
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/tls"
mkdir -p "$dir" && cd "$dir"
days=36500
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days $days -subj "/CN=StreamBus test CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca-key.pem -out other-ca.pem -days $days -subj "/CN=Another CA" 2>/dev/null
sans="DNS:localhost,IP:127.0.0.1"
for net in 1 2 3; do for i in 1 2 3 4 5 6 7 8 9; do sans="$sans,IP:127.0.$net.$i"; done; done
issue() { # name, subject, extensions[, issuing CA]
  local ca="${4:-ca}"
  openssl req -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$ca.pem" -CAkey "$ca-key.pem" -CAcreateserial -out "$1.pem" -days $days -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
issue broker "/CN=streambus-broker" "subjectAltName=$sans
extendedKeyUsage=serverAuth,clientAuth"
issue client "/CN=streambus-client" "extendedKeyUsage=clientAuth"
issue intruder "/CN=streambus-broker" "subjectAltName=$sans
extendedKeyUsage=serverAuth,clientAuth" other-ca
rm -f ca.srl other-ca.srl ca-key.pem other-ca-key.pem
