#!/usr/bin/env bash
# Test/demo TLS material (openssl CLI), created only if missing or invalid:
#   DIR/ca.pem, DIR/ca.key                 private CA ("LogDrain Test CA")
#   DIR/server.pem, DIR/server.key         server cert signed by the CA,
#                                          SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   DIR/untrusted.pem, DIR/untrusted.key   unrelated self-signed cert with the same names
#                                          (for TLS-verification-failure tests)
# All valid 825 days.  usage: deploy/certs.sh DIR
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

if (($# != 1)) || [[ -z "$1" ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
mkdir -p -- "$1"
DIR="$(cd -- "$1" && pwd -P)"
DAYS=825
SAN="subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

say() { echo "certs.sh: $*" >&2; }
command -v openssl >/dev/null 2>&1 || { echo "certs.sh: error: openssl not found (run deploy/install-deps.sh)" >&2; exit 1; }

umask 077
TMP="$(mktemp -d "$DIR/.certs.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# Still valid for at least a day?
fresh() { openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }

new_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

make_ca() {
  say "creating CA $DIR/ca.pem"
  new_key "$TMP/ca.key"
  openssl req -x509 -new -key "$TMP/ca.key" -sha256 -days "$DAYS" \
    -subj "/O=LogDrain/CN=LogDrain Test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$TMP/ca.pem"
  mv -f "$TMP/ca.key" "$DIR/ca.key"
  mv -f "$TMP/ca.pem" "$DIR/ca.pem"
}

make_server() {
  say "creating server certificate $DIR/server.pem (signed by the CA)"
  new_key "$TMP/server.key"
  openssl req -new -key "$TMP/server.key" -subj "/O=LogDrain/CN=localhost" -out "$TMP/server.csr"
  cat >"$TMP/server.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
$SAN
EXT
  openssl x509 -req -in "$TMP/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$DAYS" \
    -extfile "$TMP/server.ext" -out "$TMP/server.pem" 2>/dev/null
  mv -f "$TMP/server.key" "$DIR/server.key"
  mv -f "$TMP/server.pem" "$DIR/server.pem"
}

make_untrusted() {
  say "creating unrelated self-signed certificate $DIR/untrusted.pem"
  new_key "$TMP/untrusted.key"
  openssl req -x509 -new -key "$TMP/untrusted.key" -sha256 -days "$DAYS" \
    -subj "/O=Untrusted/CN=localhost" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
    -addext "extendedKeyUsage=serverAuth" \
    -addext "$SAN" \
    -out "$TMP/untrusted.pem"
  mv -f "$TMP/untrusted.key" "$DIR/untrusted.key"
  mv -f "$TMP/untrusted.pem" "$DIR/untrusted.pem"
}

ca_new=0
if [[ -s "$DIR/ca.pem" && -s "$DIR/ca.key" ]] && fresh "$DIR/ca.pem"; then
  say "reusing CA $DIR/ca.pem"
else
  make_ca
  ca_new=1
fi

if ((ca_new == 0)) && [[ -s "$DIR/server.pem" && -s "$DIR/server.key" ]] && fresh "$DIR/server.pem" \
   && openssl verify -CAfile "$DIR/ca.pem" "$DIR/server.pem" >/dev/null 2>&1; then
  say "reusing server certificate $DIR/server.pem"
else
  make_server
fi

if [[ -s "$DIR/untrusted.pem" && -s "$DIR/untrusted.key" ]] && fresh "$DIR/untrusted.pem"; then
  say "reusing untrusted certificate $DIR/untrusted.pem"
else
  make_untrusted
fi

# Certificates are public; keys stay 0600.
chmod 0644 "$DIR"/ca.pem "$DIR"/server.pem "$DIR"/untrusted.pem
chmod 0600 "$DIR"/ca.key "$DIR"/server.key "$DIR"/untrusted.key
chmod 0755 "$DIR"
say "ok: CA $DIR/ca.pem, server $DIR/server.pem + server.key, untrusted $DIR/untrusted.pem + untrusted.key"
