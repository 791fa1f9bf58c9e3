//! kube-proxy ipvs mode renderer (spec: ipvs.md §2, §3, §8).
