"""svccore: kube-proxy's view of Kubernetes Services, offline.

Load Services, EndpointSlices, Endpoints, Pods, Nodes and a KubeProxyConfiguration, check them
against the API server's rules, and see which endpoints each node's kube-proxy uses. Nothing
talks to a cluster: text and Python objects go in, values and text come out.

>>> import svccore
>>> cluster = svccore.Cluster.from_yaml('''
... apiVersion: v1
... kind: Service
... metadata: {name: web}
... spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
... ''')
>>> print(cluster.summary())
1 service (1 ClusterIP), 1 service port, 0 endpoints, 0 nodes
"""

import os as _os

# The extension's allocator (mimalloc) reads its options from the environment once, when the
# module is loaded. By default its arenas ask for transparent huge pages, and every 2 MB page
# a big cluster touches is then resident whole: `svccore validate` of a 97 MB list peaks 8 MB
# higher and spends 0.4 s more in the kernel, for no gain in speed (benches/README.md,
# "Loader"). A value the user set is kept, and the environment is left as it was once the
# module is loaded.
_ALLOCATOR_OPTIONS = {"MIMALLOC_ALLOW_THP": "0"}
_unset = [k for k in _ALLOCATOR_OPTIONS if k not in _os.environ]
_os.environ.update({k: _ALLOCATOR_OPTIONS[k] for k in _unset})
try:
    from svccore._svccore import (
        ALGORITHMS,
        IPVS_SCHEDULERS,
        PROTOCOLS,
        PROXIER_FLAG_MODES,
        PROXIER_FLAGS,
        TRACE_MODES,
        TRAFFIC_SOURCES,
        AuditReport,
        Balancer,
        Cluster,
        ConfigError,
        DumpError,
        EndpointsReport,
        InvalidArgumentError,
        Issue,
        ManifestError,
        ParseError,
        ProxierSettings,
        ProxyConfig,
        Service,
        ServicePort,
        SimulationReport,
        Summary,
        SvcCoreError,
        TraceOutcome,
        TraceResult,
        UnknownNodeError,
        UnknownServiceError,
        ValidationError,
        __version__,
    )
finally:
    for _name in _unset:
        del _os.environ[_name]

__all__ = [
    "ALGORITHMS",
    "IPVS_SCHEDULERS",
    "PROTOCOLS",
    "PROXIER_FLAGS",
    "PROXIER_FLAG_MODES",
    "TRACE_MODES",
    "TRAFFIC_SOURCES",
    "AuditReport",
    "Balancer",
    "Cluster",
    "ConfigError",
    "DumpError",
    "EndpointsReport",
    "InvalidArgumentError",
    "Issue",
    "ManifestError",
    "ParseError",
    "ProxierSettings",
    "ProxyConfig",
    "Service",
    "ServicePort",
    "SimulationReport",
    "Summary",
    "SvcCoreError",
    "TraceOutcome",
    "TraceResult",
    "UnknownNodeError",
    "UnknownServiceError",
    "ValidationError",
    "__version__",
]
