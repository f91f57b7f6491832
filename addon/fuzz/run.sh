#!/bin/sh
# Builds the fuzz drivers with clang's libFuzzer, ASan and UBSan, and runs
# each for SECONDS (default 60) without network (unshare -rn), from a few
# seeds written here. Local tooling only (apt-get install -y clang): not part
# of the build or the CI. A finding stops its driver and leaves crash-* in
# the work directory (default /tmp/berth-fuzz), to replay with
# `<driver> crash-…` after a fix. See README.md.
set -eu
seconds=${1:-60}
work=${2:-/tmp/berth-fuzz}
here=$(cd "$(dirname "$0")" && pwd)
addon=$(dirname "$here")
flags="-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$work"
cd "$work"

clang++ $flags "$here/dns_fuzz.cc" "$addon/dns_server.cc" "$addon/netns_socket.cc" "$addon/netns_agent.cc" \
  "$addon/fd_passing.cc" -o dns_fuzz
clang++ $flags "$here/log_fuzz.cc" "$addon/log_writer.cc" -o log_fuzz
clang++ $flags "$here/fd_fuzz.cc" "$addon/fd_passing.cc" "$addon/netns_agent.cc" -o fd_fuzz

seed() {  # seed <driver> <name> <hex>
  mkdir -p "$1_corpus"
  printf '%s' "$3" | xxd -r -p > "$1_corpus/$2"
}
seed dns a 000001010000010000000000000570726f62650000010001
seed dns ptr 0000030100000100000000000001320130013002313007696e2d61646472046172706100000c0001
seed dns edns 00000601000001000000000001057072 6f6265000001000100002910000000000000
seed dns tcp 010016000701000001000000000000046d616e7900000100010016000701000001000000000000046d616e790000010001
seed dns upstream-udp 0200000900098180000100010000000001780000010001c00c000100010000003c000401020304
seed dns upstream-tcp 02010009002300098180000100010000000001780000010001c00c000100010000003c000401020304
seed log lines 0068656c6c6f0a776f726c64020165727200036e6f206e65776c696e65
seed fd three 0002030000ff7061796c6f6164
seed fd agent 010001 00ff00000000

status=0
for driver in dns:70000 log:300000 fd:1000; do
  name=${driver%%:*}
  unshare -rn "./${name}_fuzz" -max_total_time="$seconds" -max_len="${driver##*:}" -print_final_stats=1 "${name}_corpus" \
    > "$name.log" 2>&1 || status=1
  echo "$name: $(grep -E '^(Done|SUMMARY)' "$name.log" | tail -1)"
done
exit $status
