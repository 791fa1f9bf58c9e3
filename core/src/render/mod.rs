//! Renderers: the text kube-proxy programs on a node.
