# Sourced by scripts/test.sh: builds (once, cached) and starts the object
# storage servers the blob layer's conformance suite runs against — MinIO
# for S3 and Azurite for Azure Blob — on free loopback ports with throwaway
# data directories, and exports ENCLAVE_TEST_S3 and ENCLAVE_TEST_AZURE.
# Needs log and free_port from test.sh.

BLOB_CACHE=${ENCLAVE_TEST_CACHE:-$HOME/.cache/enclave-test}
# MinIO publishes no semver tags; this pseudo-version is what the Go module
# proxy serves as latest, and it builds with Go 1.26. AGPL: it only ever runs
# as a separate test process, never linked into Enclave.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
AZURITE_VERSION=3.37.0
# Azurite's built-in development account; the key is public, not a secret.
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

MINIO_BIN=$BLOB_CACHE/bin/minio
AZURITE_BIN=$BLOB_CACHE/azurite/node_modules/.bin/azurite-blob
BLOBDIR=""
minio_pid=""
azurite_pid=""
minio_build_pid=""
azurite_install_pid=""
minio_port=""
azurite_port=""
minio_user=""
minio_password=""

minio_cached() {
  [ -x "$MINIO_BIN" ] && [ "$(cat "$MINIO_BIN.version" 2>/dev/null)" = "$MINIO_VERSION" ]
}

azurite_cached() {
  [ -x "$AZURITE_BIN" ] && [ "$(cat "$BLOB_CACHE/azurite/version" 2>/dev/null)" = "$AZURITE_VERSION" ]
}

# prepare_blob_servers starts building MinIO and installing Azurite in the
# background when they are not cached yet; wait_blob_servers waits for them.
prepare_blob_servers() {
  mkdir -p "$BLOB_CACHE/bin" "$BLOB_CACHE/azurite"
  if ! minio_cached; then
    log "building MinIO $MINIO_VERSION into $BLOB_CACHE/bin (once; a few minutes)"
    (
      start=$SECONDS
      # -trimpath and no VCS stamp: the build needs nothing from this checkout.
      GOBIN="$BLOB_CACHE/bin" GOFLAGS=-buildvcs=false \
        go install -trimpath "github.com/minio/minio@$MINIO_VERSION" &&
        echo "$MINIO_VERSION" >"$MINIO_BIN.version" &&
        log "MinIO built in $((SECONDS - start)) s"
    ) &
    minio_build_pid=$!
  fi
  if ! azurite_cached; then
    if ! command -v npm >/dev/null; then
      log "installing Node.js and npm from Debian's packages (for Azurite)"
      apt_install nodejs npm
    fi
    log "installing Azurite $AZURITE_VERSION from npm into $BLOB_CACHE/azurite (once)"
    (
      start=$SECONDS
      npm install --prefix "$BLOB_CACHE/azurite" --no-audit --no-fund --loglevel=error \
        "azurite@$AZURITE_VERSION" >&2 &&
        echo "$AZURITE_VERSION" >"$BLOB_CACHE/azurite/version" &&
        log "Azurite installed in $((SECONDS - start)) s"
    ) &
    azurite_install_pid=$!
  fi
}

wait_blob_servers() {
  if [ -n "$minio_build_pid" ]; then
    wait "$minio_build_pid" || { log "building MinIO failed"; return 1; }
  fi
  if [ -n "$azurite_install_pid" ]; then
    wait "$azurite_install_pid" || { log "installing Azurite failed"; return 1; }
  fi
}

# wait_ready NAME PID LOG URL [--fail] waits until URL answers (with a 2xx
# status when --fail is given), for at most three minutes: both start in
# seconds, but Azurite's start is CPU-bound Node.js and slows down tenfold on
# a busy machine.
wait_ready() {
  local name=$1 pid=$2 logfile=$3 url=$4 fail=${5:-} hostport i
  hostport=${url#http://}
  hostport=${hostport%%/*}
  for i in $(seq 1 1800); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited while starting"
      cat "$logfile" >&2
      return 1
    fi
    if command -v curl >/dev/null; then
      if [ -n "$fail" ]; then curl -sf -m 5 -o /dev/null "$url" && return 0
      else curl -s -m 5 -o /dev/null "$url" && return 0; fi
    elif (exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "$name did not become ready within three minutes"
  cat "$logfile" >&2
  return 1
}

launch_minio() {
  minio_port=$(free_port)
  MINIO_ROOT_USER=$minio_user MINIO_ROOT_PASSWORD=$minio_password MINIO_BROWSER=off MINIO_UPDATE=off \
    "$MINIO_BIN" server --quiet --address "127.0.0.1:$minio_port" "$BLOBDIR/minio" >"$BLOBDIR/minio.log" 2>&1 &
  minio_pid=$!
}

launch_azurite() {
  azurite_port=$(free_port)
  "$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$azurite_port" --location "$BLOBDIR/azurite" \
    --skipApiVersionCheck --disableTelemetry --silent >"$BLOBDIR/azurite.log" 2>&1 &
  azurite_pid=$!
}

# start_blob_servers starts both servers at once, waits until they answer
# (trying another port if one was taken meanwhile), and exports their URLs.
start_blob_servers() {
  local start=$SECONDS attempt
  BLOBDIR=$(mktemp -d /tmp/enclave-blob.XXXXXX)
  minio_user=enclave$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  minio_password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
  launch_minio
  launch_azurite
  for attempt in 1 2 3; do
    wait_ready MinIO "$minio_pid" "$BLOBDIR/minio.log" "http://127.0.0.1:$minio_port/minio/health/ready" --fail && break
    [ "$attempt" = 3 ] && return 1
    launch_minio
  done
  # MinIO accepts no storage class but STANDARD and REDUCED_REDUNDANCY, so
  # the cold tier maps to the latter here (GLACIER_IR on AWS).
  export ENCLAVE_TEST_S3="s3://enclave-test?endpoint=http://127.0.0.1:$minio_port&region=us-east-1&use_path_style=true&cold_class=REDUCED_REDUNDANCY"
  export AWS_ACCESS_KEY_ID=$minio_user AWS_SECRET_ACCESS_KEY=$minio_password AWS_EC2_METADATA_DISABLED=true
  log "MinIO on 127.0.0.1:$minio_port (ready after $((SECONDS - start)) s)"
  for attempt in 1 2 3; do
    wait_ready Azurite "$azurite_pid" "$BLOBDIR/azurite.log" "http://127.0.0.1:$azurite_port/" && break
    [ "$attempt" = 3 ] && return 1
    launch_azurite
  done
  export ENCLAVE_TEST_AZURE="azblob://enclave-test?protocol=http&domain=127.0.0.1:$azurite_port"
  export AZURE_STORAGE_ACCOUNT=$AZURITE_ACCOUNT AZURE_STORAGE_KEY=$AZURITE_KEY
  log "Azurite $AZURITE_VERSION on 127.0.0.1:$azurite_port (ready after $((SECONDS - start)) s)"
}

stop_blob_servers() {
  local pid
  for pid in "$minio_build_pid" "$azurite_install_pid" "$minio_pid" "$azurite_pid"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "$minio_pid" "$azurite_pid"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  [ -n "$BLOBDIR" ] && rm -rf "$BLOBDIR"
  return 0
}
