#!/bin/bash
# A/B of two seekd binaries (or two environments) on one model, alternating so that both see
# the same machine noise. Prints per round: A's tok/s, B's tok/s, B/A.
#
#   bench/ab-model.sh decode|prefill MODEL ROUNDS BIN_A BIN_B ["ENV_A" ["ENV_B"]]
#
# decode: bench-model -p 16 -n 64 -r 3 (64 MiB probe: the probe's figure is not used);
# prefill: bench-model -p 512 -n 4 -r 2. ENV_x is e.g. "SEEKD_ISA=avx2". Threads: 2, or
# SEEKD_AB_THREADS (one thread streams alone, a steadier comparison of a decode kernel).
set -euo pipefail
mode=$1 model=$2 rounds=$3 bin_a=$4 bin_b=$5 env_a=${6:-} env_b=${7:-${6:-}}
case $mode in
  decode) args=(-p 16 -n 64 -r 3) key=decode ;;
  prefill) args=(-p 512 -n 4 -r 2) key=prefill ;;
  *) echo "mode: decode or prefill" >&2; exit 2 ;;
esac
rate() {  # BIN ENV
  env $2 "$1" bench-model -m "$model" "${args[@]}" -t "${SEEKD_AB_THREADS:-2}" --probe-mib 64 2>&1 |
    awk -v k="$key" '$1 == k { print $3 }'
}
for _ in $(seq "$rounds"); do
  a=$(rate "$bin_a" "$env_a")
  b=$(rate "$bin_b" "$env_b")
  echo "$a $b $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
done
