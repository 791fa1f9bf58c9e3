//! A trace as text for people: [`render_text`].

use std::fmt::Write as _;

use super::{TraceResult, Verdict};

/// A human-readable report of a trace.
pub fn render_text(t: &TraceResult) -> String {
    let p = &t.packet;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} -> {}:{} from {:?} on node {:?}: {} outcome(s)",
        p.protocol.as_api(),
        p.src,
        p.dst,
        p.dst_port,
        p.origin,
        t.node,
        t.outcomes.len()
    );
    if let Some(v) = &t.ipvs {
        let _ = writeln!(
            o,
            "ipvs virtual server {} ({}) of {}: scheduler {}{}{}",
            v.virtual_server.trim_end(),
            v.kind,
            v.service_port_name,
            v.scheduler,
            if v.flags.is_empty() {
                String::new()
            } else {
                format!(" ({})", v.flags)
            },
            v.persistent_seconds
                .map(|t| format!(", persistent {t}s"))
                .unwrap_or_default()
        );
        for r in &v.real_servers {
            let _ = writeln!(o, "  -> {} {} weight {}", r.address, r.forward, r.weight);
        }
    }
    for (n, out) in t.outcomes.iter().enumerate() {
        let what = match &out.verdict {
            Verdict::Dnat { endpoint, chain } => format!("DNAT to {endpoint} ({chain})"),
            Verdict::Accept => "accepted, not DNATed".to_owned(),
            Verdict::Drop { reason } => {
                format!("DROPPED: {}", out.cause.as_deref().unwrap_or(reason))
            }
            Verdict::Reject { with, reason } => {
                format!(
                    "REJECTED ({with}): {}",
                    out.cause.as_deref().unwrap_or(reason)
                )
            }
        };
        let _ = writeln!(
            o,
            "\n[{}] {} with probability {} = {:.12} (nominal {}){}",
            n + 1,
            what,
            out.probability.fraction,
            out.probability.decimal,
            out.probability.nominal,
            if out.masquerade { ", masqueraded" } else { "" }
        );
        // The cause leads; the rule that acted follows when it says something else.
        if let (Some(cause), Verdict::Drop { reason } | Verdict::Reject { reason, .. }) =
            (&out.cause, &out.verdict)
        {
            if !cause.starts_with(reason.as_str()) {
                let _ = writeln!(o, "    by the rule \"{reason}\"");
            }
        }
        for s in &out.steps {
            let _ = writeln!(
                o,
                "    {:<6} {} #{}: {}",
                s.table, s.chain, s.rule, s.effect
            );
        }
    }
    for w in &t.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}
