#!/usr/bin/env bash
# Teamline's one test command: installs and starts what the tests need on a fresh Debian
# machine (PostgreSQL, Chromium + ChromeDriver, axe-core from npm for the browser tests'
# accessibility checks, Knot DNS for the DNS publisher's and the SIP gateway's tests, Kamailio
# + rtpengine + sipp for the SIP gateway's tests, the Python venv with the Graph SDK check and
# the aiosmtpd SMTP server for the mail tests), then runs formatting, lints and every test of
# the workspace. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

export TEAMLINE_TEST_POSTGRES_URL="${TEAMLINE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log() { printf '\n== %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

apt_updated=""
apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* : apt-get is not available"
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

postgres_answers() {
  command -v psql >/dev/null && psql "$TEAMLINE_TEST_POSTGRES_URL" -qtAc 'SELECT 1' >/dev/null 2>&1
}

# PostgreSQL on 127.0.0.1:5432 with the `postgres` role reachable without a password from
# loopback (test-only trust rule). Never skipped: the PostgreSQL suite must run.
ensure_postgres() {
  if postgres_answers; then
    log "PostgreSQL answers at $TEAMLINE_TEST_POSTGRES_URL"
    return
  fi
  case "$TEAMLINE_TEST_POSTGRES_URL" in
    *@127.0.0.1:5432/*|*@localhost:5432/*) ;;
    *) die "PostgreSQL does not answer at TEAMLINE_TEST_POSTGRES_URL=$TEAMLINE_TEST_POSTGRES_URL (and it is not the local default this script can start)";;
  esac
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "Installing PostgreSQL from Debian's packages"
    apt_install postgresql
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null || die "could not create a PostgreSQL $version cluster"
  fi
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q 'teamline-tests' "$hba"; then
    sed -i '1i host all postgres 127.0.0.1/32 trust # teamline-tests\nhost all postgres ::1/128 trust # teamline-tests' "$hba"
  fi
  log "Starting PostgreSQL $version"
  pg_ctlcluster "$version" main start 2>/dev/null || pg_ctlcluster "$version" main reload || true
  for _ in $(seq 1 60); do
    postgres_answers && { log "PostgreSQL is up"; return; }
    sleep 1
  done
  die "PostgreSQL did not start on 127.0.0.1:5432 (see /var/log/postgresql/postgresql-$version-main.log); the PostgreSQL suite cannot be skipped"
}

ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    return
  fi
  log "Installing Chromium and ChromeDriver from Debian's packages"
  apt_install chromium chromium-driver
}

# teamline-dns's and the SIP gateway's tests start a real Knot DNS server themselves,
# on a random loopback port, and check what it serves with kdig; they never skip.
ensure_knot() {
  local missing=()
  command -v knotd >/dev/null || missing+=(knot)
  command -v knsupdate >/dev/null && command -v kdig >/dev/null || missing+=(knot-dnsutils)
  if [ "${#missing[@]}" -eq 0 ]; then
    return
  fi
  log "Installing ${missing[*]} from Debian's packages (DNS publisher and SIP gateway tests)"
  apt_install "${missing[@]}"
}

# The packages of scripts/test-python-requirements.txt (aiosmtpd: teamline-mail's tests send
# to it), installed into the same venv as the Graph SDK check, again only when the list changed.
ensure_test_python_packages() {
  local python="$1" req=scripts/test-python-requirements.txt
  local stamp want
  stamp="$(dirname "$python")/../.test-requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    log "Installing $req into the tests' Python venv"
    "$python" -m pip install --quiet --disable-pip-version-check -r "$req" || die "pip install -r $req failed"
    echo "$want" > "$stamp"
  fi
}

# axe-core (the accessibility engine the browser tests inject into every page) from npm into
# scripts/axe/node_modules, at the version scripts/axe/package-lock.json pins; never from a CDN.
ensure_axe() {
  local stamp=scripts/axe/node_modules/.teamline-lock.sha256 want
  want="$(sha256sum scripts/axe/package-lock.json | cut -d' ' -f1)"
  if [ -f scripts/axe/node_modules/axe-core/axe.min.js ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]; then
    return
  fi
  command -v npm >/dev/null || { log "Installing npm from Debian's packages (axe-core for the browser tests)"; apt_install npm; }
  log "Installing axe-core from npm into scripts/axe"
  npm ci --prefix scripts/axe --no-audit --no-fund >/dev/null || die "npm ci --prefix scripts/axe failed"
  echo "$want" > "$stamp"
}

# The SIP gateway's tests run real Kamailio processes (the gateway and the stand-in PBX
# registrar), sipp as phones and misbehaving registrars, and Knot DNS (ensure_knot) as the
# PBX's DNS; they never skip. The tests start the daemons themselves, on random loopback ports.
KAMAILIO_MODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules
ensure_sip_tools() {
  local missing=()
  command -v kamailio >/dev/null && [ -f "$KAMAILIO_MODULES/uac.so" ] || missing+=(kamailio)
  [ -f "$KAMAILIO_MODULES/db_sqlite.so" ] || missing+=(kamailio-sqlite-modules)
  [ -f "$KAMAILIO_MODULES/tls.so" ] || missing+=(kamailio-tls-modules)
  [ -f "$KAMAILIO_MODULES/db_postgres.so" ] || missing+=(kamailio-postgres-modules)
  dpkg -s kamailio-extra-modules >/dev/null 2>&1 || missing+=(kamailio-extra-modules)
  command -v rtpengine >/dev/null || missing+=(rtpengine-daemon)
  command -v sipp >/dev/null || missing+=(sip-tester)
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Kamailio $(kamailio -v | head -n 1 | awk '{print $3}'), rtpengine and sipp are installed"
    return
  fi
  log "Installing ${missing[*]} from Debian's packages (SIP gateway tests)"
  apt_install "${missing[@]}"
}

ensure_postgres
ensure_chromium
ensure_axe
ensure_knot
ensure_sip_tools
if [ -x scripts/sdk-venv.sh ]; then
  log "Python venv for the Microsoft Graph SDK check and the SMTP test server"
  TEAMLINE_TEST_PYTHON="$(scripts/sdk-venv.sh)" || die "could not prepare the Python venv for the Graph SDK check"
  export TEAMLINE_TEST_PYTHON
  ensure_test_python_packages "$TEAMLINE_TEST_PYTHON"
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo nextest run --workspace"
mkdir -p target
cargo nextest run --workspace --locked --no-fail-fast 2>&1 | tee target/nextest.log
status=${PIPESTATUS[0]}

sqlite_ok=$(grep -cE 'PASS .*teamline-store-tests::it sqlite::' target/nextest.log || true)
postgres_ok=$(grep -cE 'PASS .*teamline-store-tests::it postgres::' target/nextest.log || true)
log "Store conformance suite: $sqlite_ok stories passed on SQLite, $postgres_ok on PostgreSQL"
[ "$status" -eq 0 ] || die "some tests failed (see above)"

# The benchmarks at a small size: each checks its own results and fails when they are wrong.
# They run the binary the test build above made (the integration tests run it too): `cargo run
# -p teamline` would resolve the dependencies' features for that one package, differently from
# the workspace's test build, and compile the whole workspace a second time.
log "benchmarks, smoke run"
teamline="${CARGO_TARGET_DIR:-target}/debug/teamline"
[ -x "$teamline" ] || die "$teamline is missing: the test build did not make it"
bench() { "$teamline" bench "$@" >/dev/null || die "teamline bench $* failed"; }
bench users-page --users 300 --requests 3 --backend sqlite
bench users-page --users 300 --requests 3 --backend postgres
bench sync --users 2000 --members 500 --latency-ms 10
[ "$postgres_ok" -gt 0 ] || die "the PostgreSQL conformance suite did not run"
log "All checks passed"
