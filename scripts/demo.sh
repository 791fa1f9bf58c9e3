#!/usr/bin/env bash
# The main job on the bundled examples (run by `make demo`): validate every example, show what
# each node's kube-proxy uses, render the iptables and IPVS views, trace a packet and simulate
# connections. $SVCCORE is the command (default: svccore on PATH).
set -euo pipefail
svccore=${SVCCORE:-svccore}
cd "$(dirname "$0")/../examples"

run() {
    printf '\n\033[1m$ svccore %s\033[0m\n' "$*" 2>/dev/null || true
    "$svccore" "$@"
}

for f in *.yaml *.json; do
    run validate -f "$f"
done

run endpoints -f nginx-study.yaml --node node2

# iptables mode, as kube-proxy on node2 writes it (iptables-restore payload), and the
# iptables-save view of the ClientIP affinity example.
run render iptables -f nginx-study.yaml --node node2 --cluster-cidr 10.244.0.0/16
run render iptables -f nginx-affinity.yaml --node master --cluster-cidr 10.244.0.0/16 --form save

# ipvs mode: the seed posts' ipvsadm -Ln listings, reproduced from the manifests.
run render ipvs -f nginx-study.yaml --node master
run render ipvs -f nginx-affinity.yaml --node master
run render ipvs -f kube-system.json --node master

# A packet from outside to the NodePort on master (no local pod: ETP Cluster spreads it),
# and to the LoadBalancer (ETP Local) on master (dropped) and on node2 (its own pod).
run trace -f nginx-study.yaml --node master --src 203.0.113.7 --dst 192.168.100.53:30002 --from external
run trace -f nginx-study.yaml --node master --src 192.168.100.9 --dst 10.101.135.10:80 --from external
run trace -f nginx-study.yaml --node node2 --src 192.168.100.9 --dst 10.101.135.10:80 --from external
run trace -f nginx-affinity.yaml --node master --src 10.244.104.10 --dst 10.97.97.97:80 --mode ipvs

# Where connections land: the cascade, rr, Maglev (with the disruption of losing a pod), and
# ClientIP affinity (every client stays on one pod for the whole run).
run simulate -f nginx-study.yaml --service study/service-clusterip --node master
run simulate -f nginx-study.yaml --service study/service-clusterip --node master --mode ipvs --hold 600
run simulate -f nginx-study.yaml --service study/service-clusterip --node master --scheduler maglev --remove-endpoint 10.244.166.129:80
run simulate -f nginx-affinity.yaml --service study/service-clusterip --node master --clients 20 --connections 2000
