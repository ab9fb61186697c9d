#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what is missing,
# starts a private PostgreSQL on a free loopback port so that every storage
# test runs against SQLite and PostgreSQL, and MinIO and Azurite (built or
# installed once into ~/.cache/enclave-test) so that the blob layer's tests
# run against S3 and Azure Blob, and rsyslog and ClamAV's clamd for the tests
# that start their own; runs `go test`, and stops the servers
# again. Extra arguments are passed to `go test` (default: ./...).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

command -v go >/dev/null || { log "Go is required (see go.mod for the version)"; exit 1; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

free_port() {
  # Ask the kernel for a free port by binding port 0.
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    go run ./scripts/freeport
  fi
}

. scripts/blobservers.sh

PGBIN=$(pg_bin || true)
if [ -z "$PGBIN" ]; then
  log "installing PostgreSQL from Debian's packages"
  apt_install postgresql
  PGBIN=$(pg_bin)
fi

# rsyslog with its TLS driver: the syslog sink's tests start their own
# rsyslogd on a free loopback port (they skip, saying so, without it).
if [ ! -x /usr/sbin/rsyslogd ] || ! compgen -G "/usr/lib/*/rsyslog/lmnsd_gtls.so" >/dev/null; then
  log "installing rsyslog and its TLS driver from Debian's packages"
  apt_install rsyslog rsyslog-gnutls
fi
export ENCLAVE_TEST_RSYSLOGD=/usr/sbin/rsyslogd

# ClamAV's daemon: the malware scanner's tests start their own clamd with a
# private signature database; installing it starts no daemon and no freshclam.
. scripts/clamd.sh
ensure_clamd

# The official mlflow client and scikit-learn, in a virtual environment made
# once from PyPI: the MLflow-compatibility tests drive the server with them.
. scripts/mlflow.sh
ensure_mlflow

PGDIR=$(mktemp -d /tmp/enclave-pg.XXXXXX)
run_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: run the private cluster as its own user.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$PGDIR"
  run_pg() { runuser -u postgres -- "$@"; }
fi

stop_pg() {
  run_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
stop_servers() {
  stop_blob_servers
  stop_pg
}
trap stop_servers EXIT

# MinIO and Azurite build or install in the background while PostgreSQL starts.
prepare_blob_servers

run_pg "$PGBIN/initdb" -D "$PGDIR/data" -U enclave --auth=trust -E UTF8 --no-locale >/dev/null
started=""
for attempt in 1 2 3 4 5; do
  PGPORT=$(free_port)
  if run_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off -c max_connections=200" start >/dev/null; then
    started=1; break
  fi
  log "PostgreSQL did not start on port $PGPORT (attempt $attempt)"
done
[ -n "$started" ] || { cat "$PGDIR/log" >&2; exit 1; }
export ENCLAVE_TEST_POSTGRES="postgres://enclave@127.0.0.1:$PGPORT/postgres?sslmode=disable"
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"

wait_blob_servers
start_blob_servers

if [ "$#" -eq 0 ]; then set -- ./...; fi
race=""
# The race detector needs cgo and a C compiler; use it when the machine has them.
if [ "$(go env CGO_ENABLED)" = 1 ] && command -v "$(go env CC)" >/dev/null 2>&1; then race="-race"; fi
go test $race -count=1 -timeout 25m "$@"
