#!/bin/bash
# Usage: bench/kernels/pair.sh build/bench/kernels/kernels_bench FILTER (from the repository root)
# $1 = binary, $2 = filter: two pinned processes at once, prints per-kernel sum of GB/s
( taskset -c 0 $1 --benchmark_filter="$2" --benchmark_min_time=1 2>&1 | grep -E "^gemv" | awk '{print $1, $NF}' > /tmp/p0 & taskset -c 1 $1 --benchmark_filter="$2" --benchmark_min_time=1 2>&1 | grep -E "^gemv" | awk '{print $1, $NF}' > /tmp/p1; wait )
paste /tmp/p0 /tmp/p1 | sed 's/bytes_per_second=//g; s/G\/s//g' | awk '{printf "%s %.1f  ", $1, $2+$4}'; echo
