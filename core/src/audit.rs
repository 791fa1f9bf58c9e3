//! Audit a node's real `iptables-save` against what kube-proxy should have written.
