# Sourced by the oci integration tests: a real Debian docker-registry on 127.0.0.1 with a temp storage dir,
# optionally behind basic auth (htpasswd) or a bearer token server (token-server.js). Everything lives
# under $WORK and is torn down by the EXIT trap of the sourcing script (stop_all).
HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PIDS=()

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_http() {  # URL: until it answers anything (any status)
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "harness: $1 did not come up" >&2
  return 1
}

# start_registry NAME MODE -> sets REG_<NAME>=127.0.0.1:PORT and REG_<NAME>_STORAGE
#   MODE: open | basic (user:pass = tester:s3cret) | token (token server; tester:s3cret may push)
start_registry() {
  local name=$1 mode=$2 dir="$WORK/registry-$1" port auth=""
  mkdir -p "$dir/storage"
  port=$(free_port)
  case $mode in
    basic)
      htpasswd -Bbn tester s3cret > "$dir/htpasswd"
      auth="auth:
  htpasswd:
    realm: mcpvm-test
    path: $dir/htpasswd" ;;
    token)
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
        -subj /CN=mcpvm-test-token >/dev/null 2>&1
      node "$HARNESS_DIR/token-server.js" "$dir/key.pem" "$dir/cert.pem" "$dir/token-port" tester:s3cret \
        >"$dir/token.log" 2>&1 &
      PIDS+=($!)
      for _ in $(seq 1 100); do [ -s "$dir/token-port" ] && break; sleep 0.1; done
      auth="auth:
  token:
    realm: http://127.0.0.1:$(cat "$dir/token-port")/token
    service: mcpvm-test
    issuer: mcpvm-test-issuer
    rootcertbundle: $dir/cert.pem" ;;
  esac
  cat > "$dir/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
YML
  /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/v2/"
  eval "REG_${name}=127.0.0.1:$port"
  eval "REG_${name}_STORAGE=$dir/storage/docker/registry/v2"
}

stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# push LAYOUT:TAG REGISTRY/REPO:TAG [skopeo args...]
push() {
  local src=$1 dst=$2; shift 2
  skopeo copy --quiet --insecure-policy --dest-tls-verify=false "$@" "oci:$src" "docker://$dst" >/dev/null
}

# The path of a blob's data in a registry's storage.
registry_blob() {  # STORAGE DIGEST
  local hex=${2#sha256:}
  echo "$1/blobs/sha256/${hex:0:2}/$hex/data"
}

# start_hostile UPSTREAM -> sets HOSTILE=127.0.0.1:PORT (see hostile-proxy.js)
start_hostile() {
  node "$HARNESS_DIR/hostile-proxy.js" "$1" "$WORK/hostile-port" >"$WORK/hostile.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do [ -s "$WORK/hostile-port" ] && break; sleep 0.1; done
  HOSTILE=127.0.0.1:$(cat "$WORK/hostile-port")
  wait_http "http://$HOSTILE/v2/"
}
