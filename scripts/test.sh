#!/usr/bin/env bash
# Teamline's one test command: installs and starts what the tests need on a fresh Debian
# machine (PostgreSQL, Chromium + ChromeDriver, axe-core from npm for the browser tests'
# accessibility checks, Knot DNS for the DNS publisher's and the SIP gateway's tests, Kamailio
# + rtpengine + sipp for the SIP gateway's tests, the Python venv with the Graph SDK check and
# the aiosmtpd SMTP server for the mail tests), then runs formatting, lints and every test of
# the workspace. Exits non-zero on any failure.
#
# On a fresh machine installing takes minutes and so does compiling the workspace, so the
# installation runs in the background (its output in target/ci/*.log) while cargo formats,
# lints and builds the tests; the tests start once both are done. The last lines say where the
# time went, phase by phase.
set -euo pipefail
cd "$(dirname "$0")/.."

export TEAMLINE_TEST_POSTGRES_URL="${TEAMLINE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log() { printf '\n== %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

ci=target/ci
mkdir -p "$ci"
rm -f "$ci"/*.seconds "$ci"/*.log "$ci"/python-path

# Where the time goes: each phase's seconds, printed at the end (also when a phase failed).
phases=()
timed() { # timed NAME COMMAND...: runs COMMAND, records how long it took
  local name="$1" start=$SECONDS status=0
  shift
  "$@" || status=$?
  phases+=("$name=$((SECONDS - start))")
  return "$status"
}
print_times() {
  local status=$? phase file
  for file in "$ci"/*.seconds; do
    [ -f "$file" ] && phases+=("$(basename "$file" .seconds) (background)=$(cat "$file")")
  done
  printf '\n== Where the time went (seconds)\n'
  for phase in "${phases[@]}"; do
    printf '  %-36s %5d\n' "${phase%=*}" "${phase##*=}"
  done
  printf '  %-36s %5d\n' "total" "$SECONDS"
  return "$status"
}
trap print_times EXIT

# ---- Installation (runs in the background: see in_background below) ----

apt_updated=""
apt_update() {
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed (installing $*)"
    apt_updated=1
  fi
}
apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* : apt-get is not available"
  log "Installing from Debian's packages: $*"
  apt_update "$@"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" || die "apt-get install $* failed"
}

postgres_answers() {
  command -v psql >/dev/null && psql "$TEAMLINE_TEST_POSTGRES_URL" -qtAc 'SELECT 1' >/dev/null 2>&1
}

postgres_is_local_default() {
  case "$TEAMLINE_TEST_POSTGRES_URL" in
    *@127.0.0.1:5432/*|*@localhost:5432/*) return 0;;
    *) return 1;;
  esac
}

# The Debian packages the tests need and this machine lacks, each with why. All of them go to
# one apt-get (apt holds dpkg's lock: two installs cannot overlap, and one transaction runs
# dpkg's triggers once).
missing_packages() {
  local missing=()
  # PostgreSQL on 127.0.0.1:5432 (ensure_postgres starts it). Never skipped.
  if ! postgres_answers && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    missing+=(postgresql)
  fi
  # Chromium and ChromeDriver for the browser tests.
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  # npm, for axe-core (ensure_axe), only when axe-core is not already installed.
  axe_is_installed || command -v npm >/dev/null || missing+=(npm)
  # teamline-dns's and the SIP gateway's tests start a real Knot DNS server themselves, on a
  # random loopback port, and check what it serves with kdig; they never skip.
  command -v knotd >/dev/null || missing+=(knot)
  command -v knsupdate >/dev/null && command -v kdig >/dev/null || missing+=(knot-dnsutils)
  # The SIP gateway's tests run real Kamailio processes (the gateway and the stand-in PBX
  # registrar), sipp as phones and misbehaving registrars, and Knot DNS as the PBX's DNS; they
  # never skip. The tests start the daemons themselves, on random loopback ports.
  local modules=/usr/lib/x86_64-linux-gnu/kamailio/modules
  command -v kamailio >/dev/null && [ -f "$modules/uac.so" ] || missing+=(kamailio)
  [ -f "$modules/db_sqlite.so" ] || missing+=(kamailio-sqlite-modules)
  [ -f "$modules/tls.so" ] || missing+=(kamailio-tls-modules)
  [ -f "$modules/db_postgres.so" ] || missing+=(kamailio-postgres-modules)
  dpkg -s kamailio-extra-modules >/dev/null 2>&1 || missing+=(kamailio-extra-modules)
  command -v rtpengine >/dev/null || missing+=(rtpengine-daemon)
  command -v sipp >/dev/null || missing+=(sip-tester)
  echo "${missing[*]}"
}

# PostgreSQL on 127.0.0.1:5432 with the `postgres` role reachable without a password from
# loopback (test-only trust rule). Never skipped: the PostgreSQL suite must run.
ensure_postgres() {
  if postgres_answers; then
    log "PostgreSQL answers at $TEAMLINE_TEST_POSTGRES_URL"
    return
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

# axe-core (the accessibility engine the browser tests inject into every page) from npm into
# scripts/axe/node_modules, at the version scripts/axe/package-lock.json pins; never from a CDN.
axe_lock_sha() { sha256sum scripts/axe/package-lock.json | cut -d' ' -f1; }
axe_is_installed() {
  [ -f scripts/axe/node_modules/axe-core/axe.min.js ] &&
    [ "$(cat scripts/axe/node_modules/.teamline-lock.sha256 2>/dev/null || true)" = "$(axe_lock_sha)" ]
}
ensure_axe() {
  axe_is_installed && return
  log "Installing axe-core from npm into scripts/axe"
  npm ci --prefix scripts/axe --no-audit --no-fund || die "npm ci --prefix scripts/axe failed (axe-core)"
  axe_lock_sha > scripts/axe/node_modules/.teamline-lock.sha256
}

# Debian packages, then what needs them: PostgreSQL's cluster and npm's axe-core.
install_system() {
  local missing
  missing="$(missing_packages)"
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086 # one word per package
    apt_install $missing
  fi
  ensure_postgres
  ensure_axe
  if command -v kamailio >/dev/null; then
    log "Kamailio $(kamailio -v | head -n 1 | awk '{print $3}'), rtpengine and sipp are installed"
  fi
}

# The Python venv of the Graph SDK check, with the packages of
# scripts/test-python-requirements.txt (aiosmtpd: teamline-mail's tests send to it;
# schemathesis), installed again only when the list changed. Needs no apt package, so it runs
# beside install_system. Writes the venv's python to $ci/python-path.
install_python() {
  local python req=scripts/test-python-requirements.txt stamp want
  python="$(scripts/sdk-venv.sh)" || die "could not prepare the Python venv for the Graph SDK check (scripts/sdk-venv.sh)"
  stamp="$(dirname "$python")/../.test-requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    log "Installing $req into the tests' Python venv"
    "$python" -m pip install --quiet --disable-pip-version-check -r "$req" || die "pip install -r $req failed"
    echo "$want" > "$stamp"
  fi
  echo "$python" > "$ci/python-path"
}

# Runs `$2...` in the background with its output in $ci/$1.log and its duration in
# $ci/$1.seconds (the caller takes the job's pid from `$!`).
in_background() {
  local name="$1"
  shift
  (
    start=$(date +%s)
    "$@"
    echo $(($(date +%s) - start)) > "$ci/$name.seconds"
  ) > "$ci/$name.log" 2>&1 &
}

# Waits for a background installation; when it failed, fails CI with what failed and the end of
# its log.
await() {
  local name="$1" pid="$2"
  if ! wait "$pid"; then
    printf '\n---- last lines of %s ----\n' "$ci/$name.log" >&2
    tail -n 30 "$ci/$name.log" >&2
    die "installing what the tests need failed ($name): $(grep -h '^ERROR:' "$ci/$name.log" | tail -n 1 | cut -c8-) — full log in $ci/$name.log"
  fi
}

if ! postgres_answers && ! postgres_is_local_default; then
  die "PostgreSQL does not answer at TEAMLINE_TEST_POSTGRES_URL=$TEAMLINE_TEST_POSTGRES_URL (and it is not the local default this script can start)"
fi
log "Installing what the tests need in the background (logs: $ci/install-system.log, $ci/install-python.log)"
in_background install-system install_system
system_pid=$!
python_pid=""
if [ -x scripts/sdk-venv.sh ]; then
  in_background install-python install_python
  python_pid=$!
fi

# ---- Formatting, lints and the test build, beside the installation ----

log "cargo fmt --check"
timed "fmt" cargo fmt --all -- --check

# Clippy lints while the tests are built: `cargo clippy` would first type-check every dependency
# for metadata only, a second compilation of them all beside the test build's (minutes on a
# fresh machine). With clippy-driver as the workspace's compiler (what `cargo clippy` itself
# sets up: only our crates go through it, with the arguments in CLIPPY_ARGS) the test build
# lints what `cargo clippy --workspace --all-targets` lints (libraries, binaries, unit and
# integration tests, examples) and fails on any warning. The variables stay exported, so the
# test run below finds the same build and rebuilds nothing.
clippy_driver="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
if [ -n "$clippy_driver" ] && [ -x "$clippy_driver" ]; then
  export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
  log "cargo nextest: building the tests, with clippy's lints (warnings are errors)"
else
  log "cargo clippy (warnings are errors)"
  timed "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
  log "cargo nextest: building the tests"
fi
timed "build tests" cargo nextest run --workspace --locked --no-run

log "Waiting for the installation to finish"
wait_start=$SECONDS
await install-system "$system_pid"
if [ -n "$python_pid" ]; then
  await install-python "$python_pid"
  TEAMLINE_TEST_PYTHON="$(cat "$ci/python-path")"
  export TEAMLINE_TEST_PYTHON
fi
phases+=("waiting for the installation=$((SECONDS - wait_start))")
cat "$ci/install-system.log" "$ci/install-python.log" 2>/dev/null || true

# ---- Tests ----

log "cargo nextest run --workspace"
run_tests() {
  cargo nextest run --workspace --locked --no-fail-fast 2>&1 | tee target/nextest.log
  return "${PIPESTATUS[0]}"
}
status=0
timed "tests" run_tests || status=$?

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
bench_smokes() {
  bench users-page --users 300 --requests 3 --backend sqlite
  bench users-page --users 300 --requests 3 --backend postgres
  bench sync --users 2000 --members 500 --latency-ms 10
}
timed "bench smokes" bench_smokes
[ "$postgres_ok" -gt 0 ] || die "the PostgreSQL conformance suite did not run"
log "All checks passed"
