#!/bin/sh
# Regenerates the real samples of this directory (see README.md): loads svccore's iptables-save
# form of the conformance case overall-no-nfacct into a network namespace created here, sends a
# few connections through it so that counters move, prints the rules with each command and
# deletes the namespace. Needs root, iproute2 and iptables (both backends).
# Usage: tests/node-dumps/make-samples.sh [SVCCORE]   (default: svccore on PATH)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
case_dir="$here/../conformance/iptables/overall-no-nfacct"
svccore=${1:-svccore}
ns="svccore-dumps-$$"
legacy="svccore-dumps-legacy-$$"
cleanup() {
    ip netns del "$ns" 2>/dev/null || true
    ip netns del "$legacy" 2>/dev/null || true
    rm -f "$payload"
}
payload=$(mktemp)
trap cleanup EXIT
$svccore render iptables -f "$case_dir/cluster.json" --proxier-settings "$case_dir/proxy.json" \
    --form save >"$payload" 2>/dev/null
# One namespace per backend: with legacy tables present, the nft tools print a warning line.
ip netns add "$ns"
ip netns add "$legacy"
run() { ip netns exec "$ns" "$@"; }
run ip link set lo up
run ip route add default dev lo
run iptables-restore <"$payload"
ip netns exec "$legacy" iptables-legacy-restore <"$payload"
# Three connections to ns1/svc1's cluster IP (DNAT to 10.180.0.1:80, refused on lo): each takes
# the nat OUTPUT -> KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP path once. Bounded: 1 s each.
for _ in 1 2 3; do
    run timeout 1 bash -c 'exec 3<>/dev/tcp/172.30.0.41/80' 2>/dev/null || true
done
# iptables-save's "# Generated/Completed on DATE" lines carry the run's date: fixed here so
# that a rerun only changes what the tools changed.
fix_dates() { sed -E 's/ on [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/ on Mon Dec  7 10:30:00 2026/'; }
run iptables-save -c | fix_dates >"$here/iptables-nft-save-c.txt"
ip netns exec "$legacy" iptables-legacy-save | fix_dates >"$here/iptables-legacy-save.txt"
run iptables -t nat -S >"$here/iptables-t-nat-S.txt"
run iptables -S >"$here/iptables-S.txt"
run iptables -t nat -v -S >"$here/iptables-t-nat-v-S.txt"
run iptables -t nat -L -n >"$here/iptables-t-nat-L-n.txt"
run iptables -t nat -L -n -v --line-numbers >"$here/iptables-t-nat-L-n-v.txt"
run iptables --version >"$here/VERSION.txt"
