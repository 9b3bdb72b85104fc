#!/usr/bin/env bash
# Fails, listing the files, when a tracked C++ file is not as clang-format (.clang-format) has it.
# Fix with: clang-format -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h')
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "not formatted (clang-format -i): ${bad[*]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files as clang-format has them"
# Which files may include system headers is checked with the formatting: both are about the code's
# shape, not its behaviour, and CI runs this script.
./scripts/check-sys-headers.sh
# The fuzz build (last in CI) lists its sources by name: one that moved fails here, at the start.
missing=()
while IFS= read -r f; do
  [ -f "$f" ] || missing+=("$f")
done < <(grep -o '\${PROJECT_SOURCE_DIR}/[^ )]*' tests/fuzz/CMakeLists.txt | sed 's|${PROJECT_SOURCE_DIR}/||')
if ((${#missing[@]})); then
  echo "tests/fuzz/CMakeLists.txt names files that do not exist: ${missing[*]}" >&2
  exit 1
fi
echo "fuzz sources: every file tests/fuzz/CMakeLists.txt names exists"
# ctest splits a discovered test's name at ';' (and mangles a backslash), and an entry that then
# matches no test case fails under --warn NoTests: refuse such names here, before any build.
bad_names=$(grep -rhoE 'TEST_CASE\("([^"\\]|\\.)*"' tests | grep -E ';|\\\\[^"]' || true)
if [ -n "$bad_names" ]; then
  echo "test names with ';' or a backslash (ctest cannot run them):" >&2
  echo "$bad_names" >&2
  exit 1
fi
echo "test names: none that ctest would split"
