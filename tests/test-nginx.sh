#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# reunite-hq behind nginx with TLS, as docs/OPERATIONS.md sets it up, with a
# certificate made for this run. A device pinned to HQ's CA syncs through it;
# a device given another CA is refused. TAP output.

set -euo pipefail

: "${REUNITE_CLI:?}" "${REUNITE_HQ:?}"
NGINX="${NGINX:-/usr/sbin/nginx}"

dir="$(mktemp -d)"
pids=()
cleanup () {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # nginx's master stops its workers on TERM; killed with -9 it left them
  # running after every test run.
  if [ -f "$dir/nginx.pid" ]; then
    local master i
    master="$(cat "$dir/nginx.pid")"
    kill -TERM "$master" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
    pkill -9 -P "$master" 2>/dev/null || true
    kill -9 "$master" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

echo "1..6"
n=0
ok () { n=$((n + 1)); echo "ok $n - $*"; }
not_ok () { n=$((n + 1)); echo "not ok $n - $*"; exit 1; }

[ -x "$NGINX" ] || not_ok "nginx-light is installed (./dev setup installs it)"

cd "$dir"
printf 'correct horse battery staple\n' > pw
export REUNITE_PASSPHRASE_FILE="$dir/pw"

# A CA and a certificate for localhost, made now.
make_ca () {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.pem" 2>/dev/null
}
make_ca hq-ca
make_ca other-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA hq-ca.pem -CAkey hq-ca.key -CAcreateserial -days 2 \
  -extfile san.ext -out server.pem 2>/dev/null
ok "made a CA and a server certificate"

"$REUNITE_HQ" --dir hq --kdf interactive init >/dev/null
"$REUNITE_HQ" --dir hq serve --listen 127.0.0.1:0 > serve.out 2> serve.err &
pids+=($!)
for _ in $(seq 50); do [ -s serve.out ] && break; sleep 0.1; done
hq_port="$(sed -n 's/.*"listening":"127.0.0.1:\([0-9]*\)".*/\1/p' serve.out)"
[ -n "$hq_port" ] || not_ok "reunite-hq started"

tls_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p logs tmp
cat > nginx.conf <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
$(sed -n '/# BEGIN reunite-hq server/,/# END reunite-hq server/p' "$(dirname "$0")/../docs/OPERATIONS.md" |
  sed "s|listen 443 ssl;|listen 127.0.0.1:$tls_port ssl;|; s|/etc/reunite/tls/server.pem|$dir/server.pem|;
       s|/etc/reunite/tls/server.key|$dir/server.key|; s|127.0.0.1:8470|127.0.0.1:$hq_port|")
}
EOF
grep -q "proxy_pass http://127.0.0.1:$hq_port" nginx.conf || not_ok "the nginx configuration in OPERATIONS.md was found"
if [ "$(id -u)" -eq 0 ]; then sed -i '1i user root;' nginx.conf; fi
"$NGINX" -p "$dir" -c "$dir/nginx.conf" -g 'daemon on;' 2>>logs/error.log || {
  cat logs/error.log >&2; not_ok "nginx started"; }
ok "nginx fronts reunite-hq on https://localhost:$tls_port"

url="https://localhost:$tls_port"
"$REUNITE_HQ" --dir hq enroll --office Goma --url "$url" --ca hq-ca.pem --out good.token >/dev/null
"$REUNITE_CLI" --db a.db --kdf interactive init >/dev/null
"$REUNITE_CLI" --db a.db enroll good.token >/dev/null
echo '{"type": "registration", "subtype": "found_person", "status": "open",
  "person": {"given_name": "Amani", "family_name": "Bahati"},
  "consent": {"tracing": true, "share_within_movement": true}}' | "$REUNITE_CLI" --db a.db add >/dev/null
report="$("$REUNITE_CLI" --db a.db sync)"
case "$report" in
  *'"sent_bundles":1'*'"converged":true'*) ok "a device pinned to HQ's CA syncs through TLS: $report" ;;
  *) not_ok "sync through nginx: $report" ;;
esac

"$REUNITE_HQ" --dir hq enroll --office Goma --url "$url" --ca other-ca.pem --out bad.token >/dev/null
"$REUNITE_CLI" --db b.db --kdf interactive init >/dev/null
if err="$("$REUNITE_CLI" --db b.db --timeout 5 enroll bad.token 2>&1)"; then
  not_ok "a device pinned to another CA was not refused"
fi
case "$err" in
  *certificate*|*TLS*|*tls*) ok "a device pinned to another CA refuses HQ's certificate: $err" ;;
  *) not_ok "unexpected error: $err" ;;
esac

# Pinning is the default: HQ makes no https token without its CA, and a
# device that holds no CA for an https HQ refuses to connect rather than
# trust the system's CAs.
if err="$("$REUNITE_HQ" --dir hq enroll --office Goma --url "$url" --out noca.token 2>&1)"; then
  not_ok "HQ wrote an https token without --ca"
fi
case "$err" in
  *"needs --ca"*) ok "HQ refuses an https token without its CA: $err" ;;
  *) not_ok "unexpected error: $err" ;;
esac
"$REUNITE_HQ" --dir hq enroll --office Goma --url "http://127.0.0.1:$hq_port" --out plain.token >/dev/null
"$REUNITE_CLI" --db c.db --kdf interactive init >/dev/null
"$REUNITE_CLI" --db c.db enroll plain.token >/dev/null
if err="$("$REUNITE_CLI" --db c.db --timeout 5 sync --hq "$url" 2>&1)"; then
  not_ok "a device with no CA for HQ synced over https"
fi
case "$err" in
  *"holds no CA for HQ"*) ok "a device with no CA for HQ does not fall back to the system's: $err" ;;
  *) not_ok "unexpected error: $err" ;;
esac
