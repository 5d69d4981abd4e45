#!/usr/bin/env bash
# The stowage demo: the `stowage` command's main job on its embedded store, with no server and no
# configuration. It stores a file, lists it and reads it back; the store is the SQLite database
# .stowage/store.db in the working directory (here .stowage-demo/), created by the first write.
#
#   bash scripts/run.sh demo     installs everything, then runs this
#   bash examples/demo.sh        the same, once the dependencies are installed (Node >= 22.18)
#   bash scripts/run.sh stowage ARGS...   the command as the demo runs it, on any machine afterwards
#
# The command runs from the repository's sources (Node runs the TypeScript directly through the
# @stowage/source export condition), so a fresh clone needs no build step. An installed command
# (`npm install -g @stowage/cli`) takes the same arguments.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CLI="$ROOT/packages/cli/src/cli.ts"

stowage() {
  printf '\n$ stowage %s\n' "$*"
  node --conditions=@stowage/source "$CLI" "$@"
}

mkdir -p "$ROOT/.stowage-demo"
cd "$ROOT/.stowage-demo"
printf 'Hello from stowage! Written %s.\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >hello.txt

stowage cp hello.txt :notes/hello.txt
stowage ls -l :notes/
stowage cat :notes/hello.txt
stowage stat :notes/hello.txt

# The suggestion must work as printed with the machine's own Node, whatever its version: run.sh runs
# the command on the Node the setup fetched when that one is too old. Printed relative to the
# directory `run.sh demo` was run from when that is the repository (the README's way).
RUN="$ROOT/scripts/run.sh"
if [[ "${STOWAGE_DEMO_CALLER_DIR:-}" == "$ROOT" ]]; then RUN=scripts/run.sh; fi
printf '\nThe store is %s/.stowage/store.db. Next, try:\n  bash %s stowage --help\n' "$PWD" "$RUN"
