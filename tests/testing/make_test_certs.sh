#!/usr/bin/env bash
# Throwaway certificates for the TLS tests, made with `openssl` at test time (no key is ever
# committed). The same commands, with longer lifetimes, are in docs/DEPLOY.md ("Security").
#
#   tests/testing/make_test_certs.sh DIR [SAN...]
#
# Writes into DIR (created if missing; every key mode 0600):
#   ca.crt ca.key               a CA
#   server.crt server.key       signed by it, for DNS:localhost, IP:127.0.0.1, IP:::1 and every
#                               extra SAN argument (e.g. IP:192.0.2.2, DNS:sgdspectra)
#   client.crt client.key       a client certificate signed by the CA (mutual TLS)
#   other-ca.crt other-ca.key   a second, unrelated CA
#   rogue.crt rogue.key         a client certificate signed by the other CA (must be refused)
# EC P-256 keys (fast to make), valid for 2 days. Exit status non-zero if openssl fails.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 DIR [SAN...]" >&2
  exit 2
fi
dir=$1
shift
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for extra in "$@"; do san+=",$extra"; done

mkdir -p "$dir"
cd "$dir"
umask 077
days=2
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME SUBJECT: a self-signed CA certificate NAME.crt with its key NAME.key.
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.crt" -days "$days" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# leaf NAME CA SUBJECT EXTENSIONS: NAME.crt signed by CA.crt / CA.key.
leaf() {
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3"
  printf '%s\n' "$4" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" \
    -days "$days" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "sgdspectra test CA"
ca other-ca "unrelated test CA"
leaf server ca localhost "subjectAltName=$san
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
leaf client ca "sgdspectra test client" "$client_ext"
leaf rogue other-ca "rogue test client" "$client_ext"
chmod 0644 ./*.crt
rm -f ./*.srl
