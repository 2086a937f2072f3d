#!/bin/sh
# fuzz/run.sh SECONDS TARGET...: runs each libFuzzer target for SECONDS on
# a working corpus seeded from fuzz/corpus/TARGET (new inputs stay in
# build/fuzz/work, out of the tree), prints executions and coverage per
# target, and fails on the first crash, leak or timeout with its input.
set -u
secs=$1
shift
status=0
for t in "$@"; do
    work=build/fuzz/work/$t
    mkdir -p "$work" build/fuzz/crashes
    log=build/fuzz/$t.log
    build/fuzz/$t -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix=build/fuzz/crashes/"$t"- "$work" fuzz/corpus/"$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    printf '%-22s %10s executions, coverage %5s edges, %6s features%s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "$([ $rc -eq 0 ] || echo '  FAILED')"
    if [ $rc -ne 0 ]; then
        tail -n 40 "$log"
        status=1
    fi
done
exit $status
