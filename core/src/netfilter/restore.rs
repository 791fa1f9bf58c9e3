//! Writing an `iptables-restore` payload, either as text or straight into the rule model.
//!
//! A renderer states each rule once, as the words `iptables-restore` reads, in the order
//! kube-proxy writes them, and gives them to a [`RestoreSink`]. A [`String`] sink writes the
//! payload text; a [`DumpBuilder`] reads the same words into a [`Dump`] without writing or
//! re-reading any text (how the `iptables-save` form and the audit's expected side are made).

use std::borrow::Cow;

use super::dump::{Dump, Filler, RuleSink};
use super::parse::{parse_rule, unquote};
use crate::{Error, Issue, Result};

/// Where a renderer writes an `iptables-restore` payload.
///
/// A rule is given as pieces of its text after `-A CHAIN`, joined by single spaces: a piece is
/// one word or several words separated by single spaces (`"-j DNAT --to-destination"`), or one
/// word kube-proxy writes in double quotes (a comment with spaces), with its quotes. Empty
/// pieces are skipped, so optional parts can be passed as `""`. Fixed runs of words go in one
/// piece so that the text sink copies them at once.
pub trait RestoreSink {
    /// `*name`: opens a table.
    fn table(&mut self, name: &str);
    /// `:name - [0:0]`: declares a user chain.
    fn chain(&mut self, name: &str);
    /// `-A chain pieces…`: appends a rule.
    fn append(&mut self, chain: &str, pieces: &[&str]);
    /// `-I chain pieces…`: inserts a rule at the top of its chain.
    fn insert(&mut self, chain: &str, pieces: &[&str]);
    /// `COMMIT`: closes the table.
    fn commit(&mut self);
}

#[inline]
fn write_rule(out: &mut String, op: &str, chain: &str, words: &[&str]) {
    out.push_str(op);
    out.push(' ');
    out.push_str(chain);
    for w in words {
        if !w.is_empty() {
            out.push(' ');
            out.push_str(w);
        }
    }
    out.push('\n');
}

/// The payload as text.
impl RestoreSink for String {
    fn table(&mut self, name: &str) {
        self.push('*');
        self.push_str(name);
        self.push('\n');
    }

    fn chain(&mut self, name: &str) {
        self.push(':');
        self.push_str(name);
        self.push_str(" - [0:0]\n");
    }

    fn append(&mut self, chain: &str, words: &[&str]) {
        write_rule(self, "-A", chain, words);
    }

    fn insert(&mut self, chain: &str, words: &[&str]) {
        write_rule(self, "-I", chain, words);
    }

    fn commit(&mut self) {
        self.push_str("COMMIT\n");
    }
}

/// The size of the pieces a [`Chunked`] sink hands out: large enough that a writer's per-call
/// cost vanishes, small enough to stay in cache and never hold a whole payload.
pub const CHUNK: usize = 1 << 20;

/// The payload as text, handed to a writer in pieces of about [`CHUNK`] bytes (each ends at a
/// line's end) as it is written, so that it is never held whole. The pieces joined are what
/// the [`String`] sink writes.
pub struct Chunked<'w> {
    buf: String,
    write: &'w mut dyn FnMut(&str),
}

impl std::fmt::Debug for Chunked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunked")
            .field("pending", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl<'w> Chunked<'w> {
    /// A sink that hands its text to `write`.
    pub fn new(write: &'w mut dyn FnMut(&str)) -> Chunked<'w> {
        Chunked {
            buf: String::with_capacity(CHUNK + 64 * 1024),
            write,
        }
    }

    fn spill(&mut self) {
        if self.buf.len() >= CHUNK {
            (self.write)(&self.buf);
            self.buf.clear();
        }
    }

    /// Hands out the rest of the text.
    pub fn finish(self) {
        if !self.buf.is_empty() {
            (self.write)(&self.buf);
        }
    }
}

impl RestoreSink for Chunked<'_> {
    fn table(&mut self, name: &str) {
        self.buf.table(name);
        self.spill();
    }

    fn chain(&mut self, name: &str) {
        self.buf.chain(name);
        self.spill();
    }

    fn append(&mut self, chain: &str, words: &[&str]) {
        self.buf.append(chain, words);
        self.spill();
    }

    fn insert(&mut self, chain: &str, words: &[&str]) {
        RestoreSink::insert(&mut self.buf, chain, words);
        self.spill();
    }

    fn commit(&mut self) {
        self.buf.commit();
        self.spill();
    }
}

/// Hands `text` to `write` in pieces of at most [`CHUNK`] bytes, cut at line ends where there
/// are any (a text not written by a [`Chunked`] sink: the same calls for every render).
pub fn write_in_pieces(text: &str, write: &mut dyn FnMut(&str)) {
    let mut rest = text;
    while rest.len() > CHUNK {
        let cut = rest[..CHUNK].rfind('\n').map_or(CHUNK, |i| i + 1);
        // A line longer than a piece: cut at a character boundary.
        let cut = (cut..=rest.len())
            .find(|&i| rest.is_char_boundary(i))
            .unwrap_or(rest.len());
        write(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() {
        write(rest);
    }
}

/// Reads a payload's words into a [`Dump`], as [`Dump::parse`] would read its text.
#[derive(Debug, Default)]
pub struct DumpBuilder {
    rules: RuleBuilder<Filler>,
}

impl DumpBuilder {
    /// An empty dump; `ipv6` selects the REJECT default as for [`Dump::parse`].
    pub fn new(ipv6: bool) -> DumpBuilder {
        DumpBuilder {
            rules: RuleBuilder::new(ipv6, Filler::default()),
        }
    }

    /// The dump, or [`Error::Dump`] naming the first rule (or table) the words did not describe.
    pub fn finish(self) -> Result<Dump> {
        let fill = self.rules.finish()?;
        Ok(fill.finish().expect("checked by RuleBuilder::finish"))
    }
}

impl RestoreSink for DumpBuilder {
    fn table(&mut self, name: &str) {
        self.rules.table(name);
    }

    fn chain(&mut self, name: &str) {
        self.rules.chain(name);
    }

    fn append(&mut self, chain: &str, words: &[&str]) {
        self.rules.append(chain, words);
    }

    fn insert(&mut self, chain: &str, words: &[&str]) {
        self.rules.insert(chain, words);
    }

    fn commit(&mut self) {
        self.rules.commit();
    }
}

/// Reads a payload's words into rules, as [`Dump::parse`] would read its text, and gives them to
/// a [`RuleSink`].
#[derive(Debug, Default)]
pub(crate) struct RuleBuilder<S> {
    sink: S,
    ipv6: bool,
    /// The open table.
    table: Option<String>,
    /// The first rule that could not be read: (table, chain, message).
    error: Option<(String, String, String)>,
}

impl<S: RuleSink> RuleBuilder<S> {
    /// Rules into `sink`; `ipv6` selects the REJECT default as for [`Dump::parse`].
    pub fn new(ipv6: bool, sink: S) -> RuleBuilder<S> {
        RuleBuilder {
            sink,
            ipv6,
            table: None,
            error: None,
        }
    }

    /// The sink, or [`Error::Dump`] naming the first rule (or table) the words did not describe.
    pub fn finish(self) -> Result<S> {
        if let Some((table, chain, message)) = self.error {
            return Err(Error::Dump(Issue::new(
                Some("rendered rules"),
                format!("{table} {chain}"),
                message,
            )));
        }
        if self.sink.is_open() {
            return Err(Error::Dump(Issue::new(
                Some("rendered rules"),
                "end",
                "missing COMMIT",
            )));
        }
        Ok(self.sink)
    }

    fn fail(&mut self, chain: &str, message: String) {
        if self.error.is_none() {
            let table = self.table.clone().unwrap_or_default();
            self.error = Some((table, chain.to_owned(), message));
        }
    }

    fn rule(&mut self, chain: &str, pieces: &[&str], insert: bool) {
        let mut words: Vec<Cow<'_, str>> = Vec::with_capacity(pieces.len() + 8);
        for p in pieces {
            if p.starts_with('"') {
                words.push(unquote(p));
            } else {
                // Words separated by single spaces (`split(' ')` without empty words, by bytes:
                // a render gives millions of pieces).
                let mut start = 0;
                for (i, &b) in p.as_bytes().iter().enumerate() {
                    if b == b' ' {
                        if i > start {
                            words.push(Cow::Borrowed(&p[start..i]));
                        }
                        start = i + 1;
                    }
                }
                if p.len() > start {
                    words.push(Cow::Borrowed(&p[start..]));
                }
            }
        }
        let rule = match parse_rule(chain, &words, self.ipv6) {
            Ok(r) => r,
            Err(m) => return self.fail(chain, m),
        };
        if !self.sink.is_open() {
            self.fail(chain, "rule outside a table".into());
        } else if insert {
            self.sink.insert(1, rule);
        } else {
            self.sink.append(rule);
        }
    }
}

impl<S: RuleSink> RestoreSink for RuleBuilder<S> {
    fn table(&mut self, name: &str) {
        if self.sink.begin(name) {
            self.table = Some(name.to_owned());
        } else {
            self.fail("", format!("table {name} started before COMMIT"));
        }
    }

    fn chain(&mut self, name: &str) {
        if self.sink.is_open() {
            self.sink.declare(name, "-");
        } else {
            self.fail(name, "chain declared outside a table".into());
        }
    }

    fn append(&mut self, chain: &str, words: &[&str]) {
        self.rule(chain, words, false);
    }

    fn insert(&mut self, chain: &str, words: &[&str]) {
        self.rule(chain, words, true);
    }

    fn commit(&mut self) {
        if self.sink.commit() {
            self.table = None;
        } else {
            self.fail("", "COMMIT outside a table".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_reads_pieces_as_the_text_parser_reads_the_payload() {
        let mut text = String::new();
        let mut b = DumpBuilder::new(false);
        for sink in [&mut text as &mut dyn RestoreSink, &mut b] {
            sink.table("nat");
            sink.chain("KUBE-SEP-X");
            sink.append(
                "KUBE-SEP-X",
                &[
                    "-m comment --comment",
                    "\"ns/web:http -> 10.0.0.1:80\"",
                    "",
                    "-m tcp -p tcp",
                    "-j DNAT --to-destination",
                    "10.0.0.1:80",
                ],
            );
            sink.insert("KUBE-SEP-X", &["-s", "10.0.0.1", "-j", "KUBE-MARK-MASQ"]);
            sink.commit();
        }
        assert_eq!(
            text,
            "*nat\n:KUBE-SEP-X - [0:0]\n\
             -A KUBE-SEP-X -m comment --comment \"ns/web:http -> 10.0.0.1:80\" -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:80\n\
             -I KUBE-SEP-X -s 10.0.0.1 -j KUBE-MARK-MASQ\nCOMMIT\n"
        );
        let built = b.finish().unwrap();
        assert_eq!(built, Dump::parse(&text, None, false).unwrap());
        let rules = &built.tables[0].rules;
        assert_eq!(rules[0].jump(), Some("KUBE-MARK-MASQ"));
        assert_eq!(rules[1].comment(), Some("ns/web:http -> 10.0.0.1:80"));
    }

    #[test]
    fn builder_reports_the_first_bad_rule_with_its_chain() {
        let mut b = DumpBuilder::new(false);
        b.table("filter");
        b.append("KUBE-FORWARD", &["-m mark --mark"]);
        b.append("KUBE-FORWARD", &["-j", "ACCEPT"]);
        b.commit();
        let e = b.finish().unwrap_err().to_string();
        assert!(e.contains("filter KUBE-FORWARD"), "{e}");
        assert!(e.contains("--mark needs a value"), "{e}");
        let mut open = DumpBuilder::new(false);
        open.table("nat");
        assert!(open
            .finish()
            .unwrap_err()
            .to_string()
            .contains("missing COMMIT"));
    }
}
