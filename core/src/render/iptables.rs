//! kube-proxy iptables mode renderer (spec: kube-proxy-iptables.md).
