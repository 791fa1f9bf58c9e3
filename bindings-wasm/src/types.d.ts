/** An operation or view name listed by `capabilities()`. */
export type Capability =
  | "load" | "validate" | "services" | "endpoints" | "nodes" | "warnings"
  | "trace" | "simulate" | "balancer"
  | TextView
  | (string & {});

/** The text views `Cluster.render` takes. */
export type TextView =
  | "iptables-restore" | "iptables-save"
  | "nftables-dump" | "nftables-load" | "nftables-list"
  | "ipvsadm-ln" | "ipvsadm-save" | "ipset-save" | "ipvs-iptables" | "ipvs-addresses"
  | "userspace-restore" | "userspace-jumps" | "userspace-save";

/** The IPVS schedulers the `scheduler` options take. */
export type IpvsScheduler = "rr" | "wrr" | "lc" | "wlc" | "sed" | "nq" | "sh" | "dh" | "mh";

/** Where a traced packet comes from (`names().trafficSources`; the alias `host` is `node`). */
export type TrafficSource = "pod" | "node" | "other-node" | "external" | "host";

/** `Cluster.settings` options. */
export interface SettingsOptions {
  node?: string;
  family?: IpFamily;
  mode?: "iptables" | "ipvs" | "nftables" | "userspace";
  /** ipvs mode: the scheduler (default: the configuration's, else rr). */
  scheduler?: IpvsScheduler;
}

/** What a kube-proxy runs with (`Cluster.settings`; Python's `Cluster.settings` gives the same). */
export interface ProxierSettings {
  nodeName: string;
  nodeIPs: string[];
  ipFamily: IpFamily;
  clusterCIDR: string | null;
  masqueradeAll: boolean;
  masqueradeMark: string;
  localhostNodePorts: boolean;
  nodePortAddresses: string[] | null;
  nfacctCounters: string[];
  randomFully: boolean;
  conntrackTCPLiberal: boolean;
  largeClusterEndpointsThreshold: number;
  interfaceAddresses: string[];
  serviceCIDRs: string[];
  staleChains: string[];
  localDetector: { mode: "None" | "NodeCidr" } | { mode: "Cidr" | "BridgeInterface" | "InterfaceNamePrefix"; value: string };
  ipvsScheduler: IpvsScheduler;
  nodeLabels: Record<string, string>;
  podCIDRs: string[];
}

/** The core's name lists (`names()`). */
export interface Names {
  ipvsSchedulers: IpvsScheduler[];
  algorithms: Algorithm[];
  trafficSources: TrafficSource[];
  protocols: ("tcp" | "udp" | "sctp")[];
}

/** Every selection algorithm (`simulate`'s `scheduler`, `new Balancer(algorithm, ...)`). */
export type Algorithm = "iptables" | "nftables" | "userspace" | IpvsScheduler | "maglev" | "ring-hash";

export type IpFamily = "IPv4" | "IPv6";

/** A located finding: a load or validation error, or a warning. */
export interface Issue {
  /** The file name given to `loadCluster`, or null. */
  file: string | null;
  /** Path inside the input, e.g. `items[3].spec.ports[1].port` ("" for the whole document). */
  path: string;
  message: string;
}

/** What every export throws: an `Error` whose message is the core's text. */
export interface SvcCoreError extends Error {
  name: "SvcCoreError";
  kind: "parse" | "manifest" | "validation" | "unknown-service" | "unknown-node" | "config" | "invalid-argument" | "dump";
  /** Path of the first issue ("" when the error has no location). */
  path: string;
  /** File of the first issue, or null. */
  file: string | null;
  issues: Issue[];
}

export interface EndpointRecord {
  /** `ip:port` (`[ip]:port` for IPv6). */
  endpoint: string;
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName: string | null;
  zone: string | null;
  zoneHints: string[] | null;
  nodeHints: string[] | null;
}

export interface ServicePortRecord {
  namespace: string;
  name: string;
  portName: string;
  /** kube-proxy's `ns/name` or `ns/name:port`. */
  servicePortName: string;
  type: "ClusterIP" | "NodePort" | "LoadBalancer" | string;
  protocol: "TCP" | "UDP" | "SCTP";
  port: number;
  targetPort: number | string | null;
  clusterIP: string;
  nodePort: number | null;
  externalIPs: string[];
  loadBalancerIPs: string[];
  sourceRanges: string[];
  healthCheckNodePort: number | null;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  usesClusterEndpoints: boolean;
  usesLocalEndpoints: boolean;
  affinitySeconds: number | null;
  topologyKeys: string[];
  /** How many endpoints the port has (also with `{endpoints: false}`). */
  endpointCount: number;
  /** Empty with `services(family, {endpoints: false})`. */
  endpoints: EndpointRecord[];
}

export interface ServicesOptions {
  /** List each port's endpoints (default true). */
  endpoints?: boolean;
}

export interface SkippedService {
  namespace: string;
  name: string;
  type: string;
  /** Why, in words. */
  reason: string;
  /** Why, as a stable code. */
  reasonCode: "external-name" | "headless" | "no-cluster-ip-of-family" | "no-ports";
  externalName: string | null;
}

export interface ServicesView {
  family: IpFamily;
  ports: ServicePortRecord[];
  skipped: SkippedService[];
}

export interface NodePortEndpoints {
  namespace: string;
  name: string;
  servicePortName: string;
  type: string;
  protocol: string;
  port: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  usesClusterEndpoints: boolean;
  usesLocalEndpoints: boolean;
  hasEndpoints: boolean;
  topologyMode: "None" | "PreferSameNode" | "PreferSameZone";
  clusterFallback: boolean;
  localFallback: boolean;
  topologyKeysUnmatched: boolean;
  /** Endpoints for cluster-policy traffic (KUBE-SVC-*). */
  cluster: string[];
  /** Endpoints for local-policy traffic (KUBE-SVL-*). */
  local: string[];
  /** Every endpoint some rule may reach (one KUBE-SEP-* each). */
  reachable: string[];
  endpoints: EndpointRecord[];
}

export interface NodeEndpoints {
  node: string;
  zone: string | null;
  /** Whether a Node object of that name was loaded (else: no labels, no zone). */
  knownNode: boolean;
  family: IpFamily;
  ports: NodePortEndpoints[];
}

/** Service ports whose lists differ between nodes; `cluster[i]`/`local[i]` are for `nodes[i]`. */
export interface NodeDifferences {
  family: IpFamily;
  nodes: string[];
  ports: {
    servicePortName: string;
    usesClusterEndpoints: boolean;
    usesLocalEndpoints: boolean;
    cluster: number[];
    local: number[];
  }[];
}

export interface NodeRecord {
  name: string;
  zone: string | null;
  labels: Record<string, string>;
  addresses: { type: string; address: string }[];
  podCIDRs: string[];
}

export interface RenderOptions {
  /** The node whose kube-proxy renders. */
  node?: string;
  family?: IpFamily;
  /** IPVS views: the scheduler (default: the KubeProxyConfiguration's `ipvs.scheduler`, else rr). */
  scheduler?: IpvsScheduler;
}

/** The settings of the nftables proxier (`Cluster.renderNftables`, `Cluster.nftablesServiceCidrs`),
 *  layered over kube-proxy's defaults and the cluster's KubeProxyConfiguration: a proxy.json
 *  object, then the flags of nftables mode. */
export interface NftablesSettingsOptions {
  /** The node whose kube-proxy renders (default: the configuration's `hostnameOverride`). */
  node?: string;
  /** Default: `proxierSettings.ipFamily`, else IPv4. */
  family?: IpFamily;
  /** A `proxy.json` settings object (the fields of `ProxierSettings` in its JSON spelling:
   *  `nodeName`, `nodeIPs`, `interfaceAddresses`, `serviceCIDRs`, `staleChains`, ...) or its JSON text. */
  proxierSettings?: Record<string, unknown> | string;
  /** `--cluster-cidr`: the local-traffic detector's CIDR (comma-separated for dual stack). */
  clusterCIDR?: string;
  masqueradeAll?: boolean;
  /** 0..31: the mark becomes `1 << bit`. */
  masqueradeBit?: number;
  /** The mark itself (`0x4000`); not with `masqueradeBit`. */
  masqueradeMark?: string;
  /** CIDRs or `primary`; a list or comma-separated. */
  nodePortAddresses?: string | string[];
  /** Where unallocated cluster IPs are dropped, when the input has no ServiceCIDR objects. */
  serviceCIDRs?: string | string[];
}

/** `Cluster.renderNftables` options. */
export interface NftablesOptions extends NftablesSettingsOptions {
  /** `dump` (kube-proxy's test dump; default), `load` (`nft -f` input), `list` (`nft list table`). */
  form?: "dump" | "load" | "list";
}

/** The ServiceCIDRs the nftables proxier drops unallocated cluster IPs in, and their source. */
export interface ServiceCidrChoice {
  /** `objects`: the cluster's ServiceCIDR objects; `settings`: `serviceCIDRs`; `none`: no drop rule. */
  source: "objects" | "settings" | "none";
  /** The ServiceCIDR objects' names (`objects` only). */
  names: string[];
  /** Both families, in input order (each proxier keeps its own family's). */
  cidrs: string[];
  /** One line, as `svccore render nftables` prints on stderr. */
  message: string;
}

// ---- trace ---------------------------------------------------------------------------------

export interface TraceOptions {
  /** The client's IP. */
  src: string;
  /** `ip:port`, `[ip]:port`, or an IP with `port`. Its family picks the proxier. */
  dst: string;
  port?: number;
  /** Default TCP (any case). */
  proto?: "TCP" | "UDP" | "SCTP" | "tcp" | "udp" | "sctp";
  /** Where the packet comes from (default `pod`: a pod on this node; `node`: the node itself,
   *  host network; `other-node`: another node or its pods; `external`; `host` is `node`). */
  from?: TrafficSource;
  /** The node whose kube-proxy handles it. */
  node?: string;
  /** Default `iptables`. */
  mode?: "iptables" | "nftables" | "ipvs" | "userspace";
  /** ipvs mode: the scheduler (default: the configuration's, else rr). */
  scheduler?: IpvsScheduler;
  /** ipvs mode: the client's source port (hashed by sh-port / mh-port). Default 0. */
  srcPort?: number;
  /** The client's live affinity entries: iptables `KUBE-SEP-…` lists, nftables `affinity-…` sets. */
  recent?: string[];
}

export interface TracePacket {
  src: string;
  dst: string;
  dstPort: number;
  protocol: "TCP" | "UDP" | "SCTP";
  origin: "LocalPod" | "OtherNode" | "External" | "Host";
  inInterface: string | null;
  recent: string[];
}

/** One rule that acted on the packet. */
export interface TraceStep {
  table: "nat" | "filter" | string;
  chain: string;
  /** 1-based position of the rule in its chain. */
  rule: number;
  /** The rule as iptables-save prints it. */
  text: string;
  /** What happened: `jump KUBE-SVC-…`, `probability 0.3333333333 taken: jump …`, `DNAT …`. */
  effect: string;
}

export interface Probability {
  /** Exact under the kernel's quantisation, reduced: `1/2`, `715827883/2147483648`. */
  fraction: string;
  decimal: number;
  /** What kube-proxy meant: `1/3`. */
  nominal: string;
}

export type Verdict =
  | { kind: "Dnat"; endpoint: string; chain: string }
  | { kind: "Accept" }
  | { kind: "Drop"; reason: string }
  | { kind: "Reject"; with: string; reason: string };

/** One path of the packet through the rules. */
export interface TraceOutcome {
  probability: Probability;
  verdict: Verdict;
  /** The source is masqueraded (SNAT to the node) on the way out. */
  masquerade: boolean;
  steps: TraceStep[];
  /** For a drop or reject of traffic to a service port: why, from the node's plan
   * (kube-proxy's reason and the policy behind it); `verdict.reason` is then the rule that
   * acted. Absent otherwise. */
  cause?: string;
}

/** `Cluster.trace` in iptables mode: every path, most likely first. */
export interface IptablesTrace {
  mode: "iptables";
  packet: TracePacket;
  node: string;
  outcomes: TraceOutcome[];
  /** Rules the tracer could not evaluate. */
  warnings: string[];
}

/** The virtual server a destination hits on the node. */
export interface VsLookup {
  /** As listed: `TCP  10.96.0.10:53`. */
  virtualServer: string;
  kind: "cluster-ip" | "external-ip" | "load-balancer" | "node-port";
  servicePortName: string;
  scheduler: string;
  /** `mh-port`, "" when none. */
  flags: string;
  /** ClientIP affinity: the persistence timeout. */
  persistentSeconds: number | null;
  endpointsFrom: "Cluster" | "Local" | "LocalFallbackToCluster";
  /** Policy Local without a local endpoint: ipvs mode uses all endpoints (iptables drops). */
  localFallback: boolean;
  boundToKubeIpvs0: boolean;
  /** In ipvsadm's listing order. */
  realServers: { address: string; weight: number; forward: string }[];
}

/** `Cluster.trace` in ipvs mode. */
export interface IpvsTrace {
  mode: "ipvs";
  packet: TracePacket;
  srcPort: number;
  node: string;
  /** null: no virtual server, IPVS does not balance this destination. */
  lookup: VsLookup | null;
  /** Each real server's share of new connections (weight / total), in `lookup.realServers` order. */
  shares: number[];
  /** The real server the scheduler picks for this client's first connection. */
  pick: string | null;
  pickIndex: number | null;
  /** What happens, in words. */
  note: string;
}

/** `Cluster.trace` in nftables mode: every path through the `kube-proxy` table, most likely
 *  first; each step's `table` is its chain's type (`filter`, `nat`), `text` the rule as listed. */
export interface NftablesTrace extends Omit<IptablesTrace, "mode"> {
  mode: "nftables";
}

export type TraceResult = IptablesTrace | NftablesTrace | IpvsTrace;

// ---- simulate ------------------------------------------------------------------------------

export interface SimulateOptions {
  /** `ns/name` or `ns/name:port` (port name or number). */
  service: string;
  /** Default: the first Node. */
  node?: string;
  /** Default `iptables`. */
  scheduler?: Algorithm;
  /** Which endpoint list serves the traffic (default `pod`). */
  from?: "pod" | "node" | "external";
  /** Default 100. */
  clients?: number;
  /** Default 10,000. */
  connections?: number;
  /** Seconds over which the connections arrive (default 3,600). */
  duration?: number;
  /** Seconds each connection stays established (default 1). */
  hold?: number;
  seed?: number;
  /** Overrides the Service's ClientIP timeout; 0 turns affinity off. */
  affinityTimeout?: number;
  /** How many of the first picks to return in `samples` (default 0). */
  samples?: number;
  flags?: string | string[];
  tableSize?: number;
  removeEndpoint?: string;
  addEndpoint?: string;
}

export interface EndpointStat {
  endpoint: string;
  node: string | null;
  picks: number;
  share: number;
  /** What the engine promises: iptables the kernel's exact cascade probability, nftables its exact `numgen random` share; others the weight share. */
  expectedShare: number;
  clients: number;
  active: number;
  inactive: number;
}

export interface SimulationReport {
  servicePort: string;
  node: string;
  algorithm: string;
  source: "pod" | "node" | "external";
  endpointList: "cluster" | "local";
  note: string | null;
  connections: number;
  clients: number;
  rejected: number;
  dropped: number;
  endpoints: EndpointStat[];
  /** max/min share over the endpoints that should get traffic (1 = perfect; null when undefined). */
  balance: number | null;
  affinity: { timeoutSeconds: number; hits: number; broken: number; clientsPinned: number; clients: number } | null;
  /** Measured on `sampled_connections` connections apart from the run's, each picked before
   * and after the change. */
  disruption: {
    change: string;
    sampled_connections: number;
    moved: number;
    moved_needlessly: number;
  } | null;
  /** The first picks: `endpoint` indexes `endpoints` (null: refused or dropped). */
  samples: { time: number; client: number; endpoint: number | null }[];
  /** IPVS: `ipvsadm -Ln -t VIP:port` with the counts at the end of the run. */
  ipvsListing: string | null;
}

// ---- Balancer ------------------------------------------------------------------------------

export interface BalancerOptions {
  /** One per backend (default 1; 0 drains). */
  weights?: number[];
  /** Maglev table size (a prime) or the `mh` table size. */
  tableSize?: number;
  /** `sh-fallback`, `sh-port`, `mh-fallback`, `mh-port`: a list or comma-separated. */
  flags?: string | string[];
  seed?: number;
  /** ClientIP affinity in the engine's own semantics (1..86400 s). */
  affinityTimeout?: number;
  affinity?: "recent" | "persistence" | "lru";
  /** Maglev and ring hash: hash the client port too. */
  hashClientPort?: boolean;
}
