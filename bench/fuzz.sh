#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ and runs each for FUZZ_SECONDS (default 60).
#
#   FUZZ_SECONDS=15 bash bench/fuzz.sh            # every target, 15 s each
#   FUZZ_TARGETS=csv,json bash bench/fuzz.sh      # a subset
#
# The targets are built with swiftc (-O, -sanitize=fuzzer,address), not SwiftPM: the module
# sources they exercise are compiled into modules of the same names (Support, Jobs, HTTP, Store
# with libpq, a Dispatcher with only its configuration and provider files) so the targets can
# `@testable import` them. Everything goes to FUZZ_BUILD (default .build/fuzz).
# Each run starts from the repository's seed corpus fuzz/corpus/TARGET (read only) and writes
# what it finds to FUZZ_BUILD/run/TARGET/corpus; a crash, hang (over 10 s on one input), leak or
# out-of-memory is saved under FUZZ_BUILD/run/TARGET/ and makes the script exit 1.
# Reproduce one: FUZZ_BUILD/TARGET FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-.build/fuzz}
all=(csv json job-json job-csv http-request http-response form callback-key config phone template segments)
IFS=, read -r -a targets <<<"${FUZZ_TARGETS:-$(IFS=,; echo "${all[*]}")}"

# What each target is built from: its file, extra files of fuzz/, the modules it imports.
declare -A extra=([job-json]=JobChecks.swift [job-csv]=JobChecks.swift)
declare -A modules=(
  [csv]="Support Jobs" [json]=Support [job-json]="Support Jobs" [job-csv]="Support Jobs" [phone]="Support Jobs"
  [template]="Support Jobs" [segments]="Support Jobs"
  [http-request]="Support HTTP" [http-response]="Support HTTP" [form]="Support HTTP"
  [config]="Support Jobs HTTP Store Dispatcher" [callback-key]="Support Jobs Store"
)
# The longest input tried: a job file or a CSV of a few dozen rows, an HTTP exchange, short texts.
declare -A maxlen=(
  [csv]=4096 [json]=4096 [job-json]=8192 [job-csv]=8192 [http-request]=4096 [http-response]=4096
  [form]=2048 [config]=4096 [callback-key]=256 [phone]=128 [template]=1024 [segments]=1024
)

for t in "${targets[@]}"; do
  [ -f "fuzz/$t.swift" ] && [ -n "${modules[$t]:-}" ] || { echo "unknown target '$t' (targets: ${all[*]})" >&2; exit 64; }
done

swift_flags=(-O -sanitize=fuzzer,address -parse-as-library -swift-version 6 -use-ld=lld
             -enable-upcoming-feature ExistentialAny -enable-upcoming-feature InternalImportsByDefault
             -I Sources/CEpoll -I Sources/CLibPQ $(pkg-config --cflags-only-I libpq | sed 's/-I/-Xcc -I/g'))
D=Sources/Dispatcher
declare -A sources=(
  [Support]="$(find Sources/Support -name '*.swift' | sort | tr '\n' ' ')"
  [Jobs]="$(find Sources/Jobs -name '*.swift' | sort | tr '\n' ' ')"
  [HTTP]="$(find Sources/HTTP -name '*.swift' | sort | tr '\n' ' ')"
  [Dispatcher]="$(find $D/Config $D/Providers -name '*.swift' | sort | tr '\n' ' ')"
  [Store]="$(find Sources/Store -name '*.swift' | sort | tr '\n' ' ')"
)

mkdir -p "$build"
started=$SECONDS

# true when $1 is missing or older than any of the other files
stale() {
  local out=$1; shift
  [ -e "$out" ] || return 0
  local f
  for f in "$@" bench/fuzz.sh; do [ "$f" -nt "$out" ] && return 0; done
  return 1
}

# The modules each module imports: it is rebuilt when one of them was.
declare -A imports=([Support]="" [Jobs]=Support [HTTP]=Support [Store]="Support Jobs" [Dispatcher]="Support Jobs HTTP Store")

build_module() {
  local m=$1
  # shellcheck disable=SC2086
  local files=(${sources[$m]})
  local d deps=()
  for d in ${imports[$m]}; do deps+=("$build/$d.o"); done
  stale "$build/$m.o" "${files[@]}" "${deps[@]}" || return 0
  echo "building module $m (${#files[@]} files)"
  swiftc "${swift_flags[@]}" -wmo -enable-testing -module-name "$m" -I "$build" \
    -emit-module -emit-module-path "$build/$m.swiftmodule" -c -o "$build/$m.o" "${files[@]}" \
    > "$build/$m.log" 2>&1 || { cat "$build/$m.log" >&2; exit 1; }
}

declare -A needed=()
for t in "${targets[@]}"; do for m in ${modules[$t]}; do needed[$m]=1; for d in ${imports[$m]}; do needed[$d]=1; done; done; done
for m in Support Jobs HTTP Store Dispatcher; do [ -n "${needed[$m]:-}" ] && build_module "$m"; done

for t in "${targets[@]}"; do
  files=("fuzz/$t.swift")
  for f in ${extra[$t]:-}; do files+=("fuzz/$f"); done
  objects=()
  for m in ${modules[$t]}; do objects+=("$build/$m.o"); done
  if stale "$build/$t" "${files[@]}" "${objects[@]}"; then
    echo "building target $t"
    swiftc "${swift_flags[@]}" -module-name "Fuzz_${t//-/_}" -I "$build" "${files[@]}" "${objects[@]}" -o "$build/$t" \
      > "$build/$t.log" 2>&1 || { cat "$build/$t.log" >&2; exit 1; }
  fi
done
echo "build: $((SECONDS - started)) s"

# job-csv writes its two files for every input: in memory when /dev/shm is there
scratch=$(mktemp -d /dev/shm/dispatcher-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=0
printf '%-14s %7s %10s %8s  %s\n' target seconds 'execs/s' corpus result
for t in "${targets[@]}"; do
  run="$build/run/$t"
  rm -rf "$run"
  mkdir -p "$run/corpus"
  options=(-max_len="${maxlen[$t]}" -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds"
           -print_final_stats=1 -artifact_prefix="$run/")
  [ -f "fuzz/dict/$t.dict" ] && options+=(-dict="fuzz/dict/$t.dict")
  t0=$SECONDS
  status=0
  # (no Swift backtracer: libFuzzer and ASan report the crash)
  SWIFT_BACKTRACE=enable=no FUZZ_SCRATCH="$scratch" timeout -k 10 $((seconds + 120)) \
    "$build/$t" "${options[@]}" "$run/corpus" "fuzz/corpus/$t" > "$run/log" 2>&1 || status=$?
  elapsed=$((SECONDS - t0))
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$run/log" | tail -1)
  corpus=$(grep -oE 'corp: [0-9]+' "$run/log" | tail -1 | cut -d' ' -f2)
  artifact=$(find "$run" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' -o -name 'oom-*' \) | head -1)
  if [ "$status" -eq 0 ] && [ -z "$artifact" ]; then
    result=ok
  else
    failed=1
    result="FAILED (exit $status) ${artifact:-see $run/log}"
  fi
  printf '%-14s %7s %10s %8s  %s\n' "$t" "$elapsed" "${rate:--}" "${corpus:--}" "$result"
done
echo "total: $((SECONDS - started)) s"
exit "$failed"
