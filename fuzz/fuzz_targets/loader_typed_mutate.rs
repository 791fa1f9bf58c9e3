//! The loader's two readers agree on manifests that are almost right. `loader_typed` gives the
//! readers arbitrary text, most of which the typed reader hands over to the generic reader at
//! once; this target starts from valid manifests (`fuzz/bases/`: the examples and the
//! conformance cases' `overall` cluster, as JSON) and lets the input edit them: replace a value (strings with
//! odd characters, numbers at the edges, other types), delete or add a field (known field names
//! among them), duplicate a list item. The edited document is written as compact or pretty JSON,
//! or as block YAML (quoted or plain scalars), and loaded by both readers; they must give the
//! same cluster or the same error, as in `loader_typed`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};

#[path = "../common/two_readers.rs"]
mod two_readers;

const BASES: &[&str] = &[
    include_str!("../bases/nginx-study.json"),
    include_str!("../bases/nginx-affinity.json"),
    include_str!("../bases/redis.json"),
    include_str!("../bases/super-front.json"),
    include_str!("../bases/kube-system.json"),
    include_str!("../bases/overall.json"),
];

/// Field names the readers know, for added fields.
const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "status",
    "ports",
    "port",
    "targetPort",
    "nodePort",
    "protocol",
    "appProtocol",
    "clusterIP",
    "clusterIPs",
    "type",
    "selector",
    "externalIPs",
    "externalName",
    "externalTrafficPolicy",
    "internalTrafficPolicy",
    "healthCheckNodePort",
    "sessionAffinity",
    "sessionAffinityConfig",
    "clientIP",
    "timeoutSeconds",
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "loadBalancer",
    "ingress",
    "ip",
    "ipMode",
    "hostname",
    "ipFamilies",
    "ipFamilyPolicy",
    "topologyKeys",
    "trafficDistribution",
    "items",
    "addressType",
    "endpoints",
    "addresses",
    "conditions",
    "ready",
    "serving",
    "terminating",
    "nodeName",
    "zone",
    "hints",
    "forZones",
    "forNodes",
    "targetRef",
    "subsets",
    "notReadyAddresses",
    "podIP",
    "podIPs",
    "phase",
    "containers",
    "containerPort",
    "hostIP",
    "hostNetwork",
    "deletionTimestamp",
    "cidrs",
    "mode",
    "x",
];

/// Values the readers treat specially.
const WORDS: &[&str] = &[
    "",
    "TCP",
    "UDP",
    "SCTP",
    "tcp",
    "ClusterIP",
    "NodePort",
    "LoadBalancer",
    "ExternalName",
    "Local",
    "Cluster",
    "ClientIP",
    "None",
    "IPv4",
    "IPv6",
    "FQDN",
    "10.0.0.1",
    "010.000.0.1",
    "fd00::1",
    "10.0.0.0/8",
    "::ffff:10.0.0.1",
    "http",
    "v1",
    "discovery.k8s.io/v1",
    "Service",
    "EndpointSlice",
    "Endpoints",
    "Pod",
    "Node",
    "List",
    "true",
    "80",
    "0x50",
    "~",
    "null",
    "yes",
];

/// The fuzzer's bytes, read front to back; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.byte()) % n
        }
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn scalar(b: &mut Bytes) -> Value {
    match b.below(12) {
        0 => Value::Null,
        1 => Value::Bool(b.byte() & 1 == 1),
        2 => Value::from([-1i64, 0, 1, 80, 65535, 65536, 86400, 86401, 30000, 32767][b.below(10)]),
        3 => Value::from(i64::from(b.byte() as i8) * 1000 + i64::from(b.byte())),
        4 => Number::from_f64([0.5, 80.0, -0.0, 1e300, 8080.0][b.below(5)])
            .map_or(Value::Null, Value::Number),
        5 => Value::from(u64::MAX - u64::from(b.byte())),
        6 => Value::String(WORDS[b.below(WORDS.len())].to_owned()),
        7 | 8 => {
            // A short string of bytes that matter to the readers: quotes, escapes, colons,
            // blanks, newlines, non-ASCII, control characters.
            const CHARS: &[char] = &[
                'a', 'Z', '0', '9', '-', '.', '/', ':', ' ', '"', '\'', '\\', '\n', '\t', '#', '{',
                '}', '[', ']', ',', '&', '*', '!', '|', '>', '%', '@', '`', 'é', '\u{0}', '\u{7f}',
                '\u{feff}', '\u{2028}', '😀',
            ];
            let n = b.below(12);
            Value::String((0..n).map(|_| CHARS[b.below(CHARS.len())]).collect())
        }
        9 => Value::Object(Map::new()),
        10 => Value::Array(Vec::new()),
        _ => {
            let n = b.below(4);
            Value::Array((0..n).map(|_| scalar_leaf(b)).collect())
        }
    }
}

fn scalar_leaf(b: &mut Bytes) -> Value {
    match b.below(3) {
        0 => Value::from(i64::from(b.byte())),
        1 => Value::String(FIELDS[b.below(FIELDS.len())].to_owned()),
        _ => Value::Bool(true),
    }
}

/// Walks down from `v` as the bytes say and applies one edit there.
fn edit(v: &mut Value, b: &mut Bytes, depth: usize) {
    let descend = depth < 12 && b.byte() % 4 != 0;
    match v {
        Value::Object(m) if descend && !m.is_empty() => {
            let k = m.keys().nth(b.below(m.len())).cloned().unwrap_or_default();
            if let Some(child) = m.get_mut(&k) {
                edit(child, b, depth + 1);
            }
        }
        Value::Array(a) if descend && !a.is_empty() => {
            let i = b.below(a.len());
            edit(&mut a[i], b, depth + 1);
        }
        _ => match b.below(5) {
            0 | 1 => *v = scalar(b),
            2 => {
                if let Value::Object(m) = v {
                    if !m.is_empty() {
                        let k = m.keys().nth(b.below(m.len())).cloned().unwrap_or_default();
                        m.remove(&k);
                    }
                }
            }
            3 => {
                if let Value::Object(m) = v {
                    m.insert(FIELDS[b.below(FIELDS.len())].to_owned(), scalar(b));
                } else {
                    *v = scalar(b);
                }
            }
            _ => {
                if let Value::Array(a) = v {
                    if !a.is_empty() {
                        let i = b.below(a.len());
                        let copy = a[i].clone();
                        a.insert(b.below(a.len() + 1), copy);
                    }
                }
            }
        },
    }
}

/// A plain YAML scalar for strings that read back as the same string in any YAML 1.1/1.2
/// reader; the rest double-quoted (JSON's escapes are YAML's).
fn yaml_scalar(v: &Value, plain: bool, out: &mut String) {
    match v {
        Value::String(s)
            if plain
                && !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"./_-".contains(&c))
                && s.as_bytes()[0].is_ascii_alphabetic()
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
                ) =>
        {
            out.push_str(s)
        }
        other => out.push_str(&other.to_string()),
    }
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn yaml(v: &Value, indent: usize, plain: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    // An entry's head (`key:` or `-`), then its value inline or as a block below.
    let mut entry = |head: &dyn Fn(&mut String), x: &Value| {
        out.push_str(&pad);
        head(out);
        if is_container(x) {
            out.push('\n');
            yaml(x, indent + 2, plain, out);
        } else {
            out.push(' ');
            yaml_leaf(x, plain, out);
        }
    };
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                entry(
                    &|out: &mut String| {
                        yaml_scalar(&Value::String(k.clone()), plain, out);
                        out.push(':');
                    },
                    x,
                );
            }
        }
        Value::Array(a) => {
            for x in a {
                entry(&|out: &mut String| out.push('-'), x);
            }
        }
        leaf => {
            out.push_str(&pad);
            yaml_leaf(leaf, plain, out);
        }
    }
}

fn yaml_leaf(v: &Value, plain: bool, out: &mut String) {
    match v {
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        other => yaml_scalar(other, plain, out),
    }
    out.push('\n');
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let Ok(mut doc) = serde_json::from_str::<Value>(BASES[b.below(BASES.len())]) else {
        return;
    };
    let form = b.below(4);
    for _ in 0..1 + b.below(6) {
        if b.is_empty() {
            break;
        }
        edit(&mut doc, &mut b, 0);
    }
    let text = match form {
        0 => doc.to_string(),
        1 => serde_json::to_string_pretty(&doc).unwrap_or_default(),
        k => {
            let mut out = String::from("---\n");
            yaml(&doc, 0, k == 3, &mut out);
            out
        }
    };
    two_readers::assert_agree(&text);
});
