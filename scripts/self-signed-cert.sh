#!/usr/bin/env bash
# A self-signed TLS certificate for a first try of the compose deploy (docs/deploy.md),
# in the one-file form haproxy reads: certificate, then private key (PEM).
#
#   scripts/self-signed-cert.sh [HOSTNAME] [OUT]
#     HOSTNAME  the name clients use (default: localhost); localhost and 127.0.0.1 are
#               always added as alternative names
#     OUT       default: deploy/tls/focusroom.pem (what docker-compose.yml mounts)
#
# Browsers and apps will not trust it (a test passes it as a CA: test/deploy/compose.test.ts);
# replace it with a real one (Let's Encrypt, docs/deploy.md) before going public.
# Needs openssl. The file is readable by all (the haproxy image runs as an unprivileged
# user with another uid): fine for a throwaway key, not for a real one (docs/deploy.md).
set -euo pipefail
cd "$(dirname "$0")/.."
host="${1:-localhost}"
out="${2:-deploy/tls/focusroom.pem}"
command -v openssl >/dev/null || { echo "self-signed-cert: openssl not found (apt-get install openssl)" >&2; exit 1; }
case "$host" in
  *[!A-Za-z0-9.-]*) echo "self-signed-cert: not a hostname: $host" >&2; exit 1 ;;
esac
san="DNS:localhost,IP:127.0.0.1"
[ "$host" = localhost ] || san="DNS:$host,$san"
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# P-256: small, fast handshakes, accepted everywhere TLS 1.2 is.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
  -subj "/CN=$host" -addext "subjectAltName=$san" -addext "basicConstraints=critical,CA:TRUE" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/focusroom.pem"
chmod 644 "$tmp/focusroom.pem"
mv "$tmp/focusroom.pem" "$out"
echo "self-signed-cert: wrote $out for $host (valid 90 days; SAN $san)"
