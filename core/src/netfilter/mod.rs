//! iptables rules as data: the model of an `iptables-save` / `iptables-restore` dump, reading
//! and writing it, and evaluating a packet against it.
//!
//! This module knows netfilter and the iptables tools, not Kubernetes: the iptables renderer
//! ([`crate::render::iptables`]) writes kube-proxy's rules through a [`RestoreSink`], and
//! [`crate::trace`] and [`crate::audit`] read rules (svccore's or a node's) into a [`Dump`].
//!
//! - [`Dump`], [`Table`], [`Rule`] with its [`Match`]es and [`Target`]: the model, with
//!   kube-proxy's modules and targets typed and anything else kept as words.
//! - [`Dump::parse`]: reads `iptables-restore` input or `iptables-save` output;
//!   [`Dump::parse_rules`] one table's `iptables -S`; [`detect_form`] tells them (and
//!   `iptables -L`, `nft list`, `ipvsadm` output) apart.
//! - [`RestoreSink`]: where a renderer writes a payload; [`String`] writes the text,
//!   [`DumpBuilder`] fills a [`Dump`] from the same words without text in between.
//! - [`Rule::to_save`] and [`save_text`]: print rules and dumps as `iptables-save` does, in the
//!   [`SaveStyle`] of an iptables version.
//! - [`RuleSet`]: evaluates the first packet of a connection through the hooks, every
//!   `-m statistic` branch included: each [`Path`] has its [`Verdict`], the [`Step`]s (rules)
//!   that acted and the statistic [`Branch`]es taken or not.
//!
//! # Example
//! ```
//! use svccore::netfilter::{save_text, Dump, DumpBuilder, RestoreSink, SaveStyle};
//! let mut b = DumpBuilder::new(false);
//! b.table("nat");
//! b.chain("KUBE-MARK-MASQ");
//! b.append("KUBE-MARK-MASQ", &["-j", "MARK", "--or-mark", "0x4000"]);
//! b.commit();
//! let dump = b.finish().unwrap();
//! let text = "*nat\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\nCOMMIT\n";
//! assert_eq!(dump, Dump::parse(text, None, false).unwrap());
//! assert!(save_text(&[&dump], &SaveStyle::default())
//!     .contains("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"));
//! ```

mod dump;
mod eval;
mod form;
mod parse;
mod restore;
mod rule;

pub use dump::{builtin_chains, save_text, ChainDecl, Dump, Table};
pub(crate) use dump::{Filler, RuleSink};
pub(crate) use eval::Merged;
pub use eval::{Branch, Packet, Path, RuleSet, Step, StepData, Verdict};
pub use form::{detect_form, DumpForm};
pub use parse::split_words;
pub(crate) use parse::{parse_into, parse_rules_into, words_of};
pub(crate) use restore::RuleBuilder;
pub use restore::{write_in_pieces, Chunked, DumpBuilder, RestoreSink, CHUNK};
pub use rule::{
    probability_threshold, AddrMatch, Match, Opt, RecentAction, Rule, SaveStyle, Target,
};
