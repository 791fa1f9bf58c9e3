//! A reader for the block YAML that `kubectl get -o yaml` prints, straight from the text into a
//! serde visitor, without libyaml and without an event buffer.
//!
//! It reads a subset of YAML and stops ([`Outside::Subset`]) on anything else, for the caller to read
//! the text again with libyaml (`serde_yaml_ng`), which reads all of YAML and names the line
//! and column of every error. The subset is what `kubectl` and most hand-written manifests use:
//! block mappings and sequences (sequences under a key may sit at the key's indentation), plain,
//! single- and double-quoted scalars, also over several lines as go-yaml wraps long strings at
//! 80 columns (folded: a line break is a space, an empty line a newline), literal block scalars
//! (`|`, `|-`), the empty flow collections `{}` and `[]`, comments, and `---` between
//! documents. Anything else (anchors, aliases, tags, flow collections with content, folded
//! block scalars, lines of spaces inside scalars, tabs, carriage returns, directives, complex
//! keys, `...`) stops it, and so does every text libyaml would refuse.
//!
//! What it gives the visitor equals what `serde_yaml_ng` gives for the same text: plain scalars
//! are resolved the way its untagged-scalar rule resolves them (null, bool, integer in decimal,
//! hex, octal or binary, float, else string); keys read as strings are the raw text; quoted
//! scalars are strings. The tests below check this against `serde_yaml_ng` on every YAML file
//! of the repository and on generated and mutated texts.

use std::borrow::Cow;
use std::fmt;
use std::num::ParseIntError;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why the reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outside {
    /// The text is not in the subset this reader reads (or is not YAML at all): libyaml reads it.
    Subset,
    /// The visitor refused what it was given (its error, `serde::de::Error::custom`). Up to
    /// that point the values are those libyaml would give, so a visitor reading them from
    /// libyaml refuses too.
    Refused,
}

use Outside::Subset;

impl fmt::Display for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Subset => "outside the block YAML subset",
            Outside::Refused => "refused by the visitor",
        })
    }
}

impl std::error::Error for Outside {}

impl de::Error for Outside {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Outside::Refused
    }
}

type R<T> = Result<T, Outside>;

/// Nesting deeper than this stops the reader (`serde_yaml_ng` refuses more than 128 levels).
const MAX_DEPTH: usize = 100;

/// Libyaml's implicit keys are at most 1024 characters, quotes included; this counts bytes.
const MAX_KEY: usize = 1000;

/// The documents of a stream, each a slice of `text` (without its `---` line), when the text
/// is in the subset as far as characters and document markers go.
pub(super) fn documents(text: &str) -> R<Vec<&str>> {
    check_characters(text)?;
    let s = text.as_bytes();
    let mut docs = Vec::new();
    let mut start = 0;
    let mut marker = false;
    // Markers and directives start a line: look after each line break (and at the start).
    let lines = std::iter::once(0).chain(memchr::memchr_iter(b'\n', s).map(|i| i + 1));
    for line in lines {
        match s.get(line) {
            Some(b'-') if s[line..].starts_with(b"---") => {
                if !matches!(s.get(line + 3), None | Some(b'\n')) {
                    return Err(Subset);
                }
                push_document(&mut docs, &text[start..line], marker)?;
                marker = true;
                start = (line + 4).min(s.len());
            }
            Some(b'.') if s[line..].starts_with(b"...") => return Err(Subset),
            Some(b'%') => return Err(Subset),
            _ => {}
        }
    }
    push_document(&mut docs, &text[start..], marker)?;
    if docs.is_empty() {
        return Err(Subset);
    }
    Ok(docs)
}

/// Adds the text between two markers. Before the first marker, a text without content is no
/// document; after a marker it is an empty document, which the subset leaves out.
fn push_document<'a>(docs: &mut Vec<&'a str>, doc: &'a str, after_marker: bool) -> R<()> {
    let mut r = Reader::new(doc);
    if r.peek()?.is_some() {
        docs.push(doc);
    } else if after_marker {
        return Err(Subset);
    }
    Ok(())
}

/// The position of the next `\n` from `from`, or the end of the text.
fn memchr_newline(s: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &s[from..]).map_or(s.len(), |i| from + i)
}

/// Printable ASCII or a line break: most of a manifest.
fn plain_ascii(b: u8) -> bool {
    b.wrapping_sub(0x20) < 0x5f || b == b'\n'
}

/// Stops on a character libyaml refuses anywhere (controls) or reads as a line break or byte
/// order mark (U+0085, U+2028, U+2029, U+FEFF), and on tabs and carriage returns, which the
/// subset leaves out.
fn check_characters(text: &str) -> R<()> {
    let s = text.as_bytes();
    let mut i = 0;
    while i < s.len() {
        // 32 bytes at a time while they are all printable ASCII (a loop the compiler makes SIMD).
        if let Some(chunk) = s.get(i..i + 32) {
            if chunk.iter().fold(true, |ok, &b| ok & plain_ascii(b)) {
                i += 32;
                continue;
            }
        }
        let b = s[i];
        if plain_ascii(b) {
            i += 1;
            continue;
        }
        if b < 0x80 {
            return Err(Subset);
        }
        let c = text[i..].chars().next().ok_or(Subset)?;
        let ok = matches!(c as u32, 0xa0..=0xd7ff | 0xe000..=0xfffd | 0x1_0000..)
            && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}');
        if !ok {
            return Err(Subset);
        }
        i += c.len_utf8();
    }
    Ok(())
}

/// Reads one document (a slice from [`documents`]) into `seed`.
pub(super) fn read_document<'de, S: DeserializeSeed<'de>>(doc: &'de str, seed: S) -> R<S::Value> {
    let mut r = Reader::new(doc);
    let v = seed.deserialize(Node {
        r: &mut r,
        at: At::Root,
    })?;
    if r.peek()?.is_some() {
        return Err(Subset);
    }
    Ok(v)
}

/// Every document of a text as a JSON value, `None` outside the subset: for the tests and the
/// `yaml_subset` fuzz target, which compare it with `serde_yaml_ng`.
#[cfg(any(test, fuzzing))]
pub(super) fn values(text: &str) -> Option<Vec<serde_json::Value>> {
    documents(text)
        .ok()?
        .into_iter()
        .map(|d| read_document(d, std::marker::PhantomData::<serde_json::Value>).ok())
        .collect()
}

/// A cursor over one document. Between nodes it stands at the start of a line.
struct Reader<'de> {
    text: &'de str,
    s: &'de [u8],
    pos: usize,
    depth: usize,
}

impl<'de> Reader<'de> {
    fn new(text: &'de str) -> Self {
        Reader {
            text,
            s: text.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(b'\n')
    }

    /// Skips blank and comment lines from the start of a line; the indentation and position of
    /// the next line with content, the cursor at its start, or `None` at the end.
    fn peek(&mut self) -> R<Option<(usize, usize)>> {
        loop {
            if self.pos >= self.s.len() {
                return Ok(None);
            }
            let mut i = self.pos;
            while self.at(i) == b' ' && i < self.s.len() {
                i += 1;
            }
            match self.at(i) {
                b'\n' => {}
                b'#' => i = memchr_newline(self.s, i),
                _ => return Ok(Some((i - self.pos, i))),
            }
            self.pos = i + 1;
        }
    }

    /// `-` followed by a space or the end of the line: a sequence entry.
    fn is_dash(&self, i: usize) -> bool {
        self.s[i] == b'-' && matches!(self.at(i + 1), b' ' | b'\n')
    }

    /// After a node on the line: spaces, then a comment or the end of the line, which is
    /// consumed.
    fn end_line(&mut self) -> R<()> {
        let mut i = self.pos;
        while self.at(i) == b' ' && i < self.s.len() {
            i += 1;
        }
        match self.at(i) {
            b'\n' => {}
            // A comment needs a space before it (`a#b` is a scalar).
            b'#' if i > 0 && self.s[i - 1] == b' ' => i = memchr_newline(self.s, i),
            _ => return Err(Subset),
        }
        self.pos = (i + 1).min(self.s.len());
        Ok(())
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Subset);
        }
        Ok(())
    }

    /// After a line break at `i` inside a scalar: the position of the next line's first
    /// character and the number of empty lines skipped, when that line is indented more than
    /// `parent` (the scalar goes on there); `None` otherwise. Lines of spaces only before a
    /// continuation stop the reader (how they fold depends on their length).
    fn continuation(&self, i: usize, parent: usize) -> R<Option<(usize, usize)>> {
        let mut line = i + 1;
        let mut empty = 0;
        let mut spaces_only = false;
        while line < self.s.len() {
            let mut j = line;
            while self.at(j) == b' ' && j < self.s.len() {
                j += 1;
            }
            if self.at(j) != b'\n' || j >= self.s.len() {
                if j >= self.s.len() || j - line <= parent {
                    return Ok(None);
                }
                if spaces_only {
                    return Err(Subset);
                }
                return Ok(Some((j, empty)));
            }
            spaces_only |= j > line;
            empty += 1;
            line = j + 1;
        }
        Ok(None)
    }

    /// Appends what a folded line break turns into: a space, or a newline per empty line.
    fn fold(out: &mut String, empty: usize) {
        if empty == 0 {
            out.push(' ');
        }
        for _ in 0..empty {
            out.push('\n');
        }
    }

    /// A plain scalar from the cursor to the end of its line or a comment, and on the lines
    /// indented more than `parent` that continue it (folded: a line break is a space, empty
    /// lines are newlines); `None` if `: ` ends its first line (it is a key). Trailing spaces
    /// are not part of it.
    fn plain(&mut self, parent: usize) -> R<Option<Cow<'de, str>>> {
        let mut owned: Option<String> = None;
        let mut line_start = self.pos;
        loop {
            let (i, end, stop) = self.plain_run(line_start);
            match stop {
                Stop::Colon if owned.is_none() => return Ok(None),
                // `: ` on a continuation line: libyaml's error.
                Stop::Colon => return Err(Subset),
                Stop::Comment | Stop::Eol => {}
            }
            let piece = &self.text[line_start..end];
            self.pos = i;
            let next = match stop {
                Stop::Eol => self.continuation(i, parent)?,
                _ => None,
            };
            match next {
                // A comment line ends the scalar.
                Some((j, _)) if self.s[j] == b'#' => {}
                Some((j, empty)) => {
                    if !starts_plain(self.s[j], self.at(j + 1)) || self.s[j] == b'-' {
                        return Err(Subset);
                    }
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(piece);
                    Self::fold(o, empty);
                    line_start = j;
                    continue;
                }
                None => {}
            }
            return Ok(Some(match owned {
                None => Cow::Borrowed(piece),
                Some(mut o) => {
                    o.push_str(piece);
                    Cow::Owned(o)
                }
            }));
        }
    }

    /// A plain scalar's run on one line from `from` (which is not a space): where it stops and
    /// where its text ends (trailing spaces are not part of it).
    fn plain_run(&self, from: usize) -> (usize, usize, Stop) {
        let (mut i, mut end) = (from, from);
        loop {
            match self.at(i) {
                b'\n' => return (i, end, Stop::Eol),
                b':' if matches!(self.at(i + 1), b' ' | b'\n') => return (i, end, Stop::Colon),
                b'#' if self.s[i - 1] == b' ' => return (i, end, Stop::Comment),
                b' ' => {}
                _ => end = i + 1,
            }
            i += 1;
        }
    }

    /// A quoted scalar, the cursor on its opening quote; the cursor is left after the closing
    /// one. With `parent` (a value's key or entry column) it may go on over lines indented
    /// more than that; without (a key), it is on one line.
    fn quoted(&mut self, parent: Option<usize>) -> R<Cow<'de, str>> {
        let double = self.s[self.pos] == b'"';
        let quote = self.s[self.pos];
        let start = self.pos + 1;
        let mut i = start;
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            match self.at(i) {
                b'\n' => {
                    // A folded line break; spaces before it would be dropped: left to libyaml.
                    let parent = parent.ok_or(Subset)?;
                    if self.s[i - 1] == b' ' {
                        return Err(Subset);
                    }
                    let (j, empty) = self.continuation(i, parent)?.ok_or(Subset)?;
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(&self.text[run..i]);
                    Self::fold(o, empty);
                    i = j;
                    run = j;
                }
                b'\\' if double && self.at(i + 1) == b'\n' => {
                    // An escaped line break: nothing, and the next line's indentation neither.
                    let parent = parent.ok_or(Subset)?;
                    let (j, empty) = self.continuation(i + 1, parent)?.ok_or(Subset)?;
                    if empty > 0 {
                        return Err(Subset);
                    }
                    owned
                        .get_or_insert_with(String::new)
                        .push_str(&self.text[run..i]);
                    i = j;
                    run = j;
                }
                b'\\' if double => {
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(&self.text[run..i]);
                    i = self.escape(i + 1, o)?;
                    run = i;
                }
                b'\'' if !double && self.at(i + 1) == b'\'' => {
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(&self.text[run..=i]);
                    i += 2;
                    run = i;
                }
                b if b == quote => break,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(match owned {
            None => Cow::Borrowed(&self.text[start..i]),
            Some(mut o) => {
                o.push_str(&self.text[run..i]);
                Cow::Owned(o)
            }
        })
    }

    /// The escape after a `\` at `i - 1` (YAML 1.1's list, as libyaml reads it); the position
    /// after it.
    fn escape(&self, i: usize, out: &mut String) -> R<usize> {
        let c = match self.at(i) {
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\u{b}',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'e' => '\u{1b}',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b @ (b'x' | b'u' | b'U') => {
                let n = match b {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = self.text.get(i + 1..i + 1 + n).ok_or(Subset)?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return Err(Subset);
                }
                let code = u32::from_str_radix(hex, 16).map_err(|_| Subset)?;
                out.push(char::from_u32(code).ok_or(Subset)?);
                return Ok(i + 1 + n);
            }
            _ => return Err(Subset),
        };
        out.push(c);
        Ok(i + 1)
    }

    /// A literal block scalar, the cursor after its `|`. Its lines are those indented more
    /// than `parent` (the column of the key or `-` it belongs to).
    fn literal(&mut self, parent: isize) -> R<String> {
        let strip = match self.at(self.pos) {
            b'-' => {
                self.pos += 1;
                true
            }
            b'+' => return Err(Subset),
            _ => false,
        };
        if self.at(self.pos) != b' ' && self.at(self.pos) != b'\n' {
            return Err(Subset);
        }
        self.end_line()?;
        let mut out = String::new();
        let mut indent = None;
        // Newlines of empty lines not yet known to be inside the scalar.
        let mut breaks = 0;
        while self.pos < self.s.len() {
            let mut i = self.pos;
            while self.at(i) == b' ' && i < self.s.len() {
                i += 1;
            }
            let spaces = i - self.pos;
            if self.at(i) == b'\n' && i < self.s.len() {
                if spaces > 0 {
                    // Lines of spaces only: their rules differ by position; libyaml reads them.
                    return Err(Subset);
                }
                breaks += 1;
                self.pos = i + 1;
                continue;
            }
            if i >= self.s.len() {
                if spaces > 0 {
                    return Err(Subset);
                }
                break;
            }
            let n = *indent.get_or_insert(spaces);
            if spaces < n {
                break;
            }
            if (n as isize) <= parent {
                // An empty scalar; its end rules are libyaml's to apply.
                return Err(Subset);
            }
            let end = memchr_newline(self.s, i);
            if end >= self.s.len() {
                // The last line without a line break.
                return Err(Subset);
            }
            if !out.is_empty() {
                out.push('\n');
            }
            for _ in 0..breaks {
                out.push('\n');
            }
            breaks = 0;
            out.push_str(&self.text[self.pos + n..end]);
            self.pos = end + 1;
        }
        if indent.is_none() {
            return Err(Subset);
        }
        if !strip {
            out.push('\n');
        }
        Ok(out)
    }
}

/// What ends a plain scalar's run on a line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The end of the line.
    Eol,
    /// ` #`: a comment follows.
    Comment,
    /// `: ` (or `:` at the end of the line): the run was a key.
    Colon,
}

/// Where a node starts.
#[derive(Clone, Copy)]
enum At {
    /// A document's root, at the start of a line.
    Root,
    /// After `key:`; the key's column.
    Value(usize),
    /// After `-`; the dash's column.
    Entry(usize),
}

/// The deserializer methods this reader hands back: `serde_yaml_ng` reads an option, a newtype
/// struct or an enum by rules of its own (tags, `visit_some`), which the typed reader does not
/// use.
macro_rules! leave_to_libyaml {
    () => {
        fn deserialize_option<V: Visitor<'de>>(self, _: V) -> R<V::Value> {
            Err(Subset)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, _: V) -> R<V::Value> {
            Err(Subset)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: &'static [&'static str],
            _: V,
        ) -> R<V::Value> {
            Err(Subset)
        }
    };
}

/// A node, as a serde deserializer.
struct Node<'r, 'de> {
    r: &'r mut Reader<'de>,
    at: At,
}

/// A scalar value as read, before resolution.
enum Scalar<'de> {
    Plain(Cow<'de, str>),
    Quoted(Cow<'de, str>),
}

impl<'de> Node<'_, 'de> {
    /// Visits a block collection starting on a line of its own at column `indent`.
    fn collection<V: Visitor<'de>>(self, indent: usize, p: usize, v: V) -> R<V::Value> {
        self.r.enter()?;
        let out = if self.r.is_dash(p) {
            v.visit_seq(Seq { r: self.r, indent })
        } else {
            v.visit_map(Map {
                r: self.r,
                indent,
                inline: false,
            })
        };
        self.r.depth -= 1;
        out
    }

    fn visit_scalar<V: Visitor<'de>>(v: V, s: Scalar<'de>) -> R<V::Value> {
        match s {
            Scalar::Quoted(Cow::Borrowed(s)) => v.visit_borrowed_str(s),
            Scalar::Quoted(Cow::Owned(s)) => v.visit_string(s),
            Scalar::Plain(s) => match resolve(&s)? {
                Plain::Null => v.visit_unit(),
                Plain::Bool(b) => v.visit_bool(b),
                Plain::U64(n) => v.visit_u64(n),
                Plain::I64(n) => v.visit_i64(n),
                Plain::F64(f) => v.visit_f64(f),
                Plain::Str => match s {
                    Cow::Borrowed(s) => v.visit_borrowed_str(s),
                    Cow::Owned(s) => v.visit_string(s),
                },
            },
        }
    }
}

impl<'de> Deserializer<'de> for Node<'_, 'de> {
    type Error = Outside;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        let parent = match self.at {
            At::Root => {
                let (indent, p) = self.r.peek()?.ok_or(Subset)?;
                return self.collection(indent, p, v);
            }
            At::Value(c) | At::Entry(c) => c,
        };
        let r = &mut *self.r;
        let mut i = r.pos;
        while r.at(i) == b' ' && i < r.s.len() {
            i += 1;
        }
        r.pos = i;
        match r.at(i) {
            b'#' | b'\n' => {
                r.end_line()?;
                match r.peek()? {
                    Some((indent, p)) if indent > parent => self.collection(indent, p, v),
                    // A sequence under a key may sit at the key's column.
                    Some((indent, p))
                        if indent == parent && matches!(self.at, At::Value(_)) && r.is_dash(p) =>
                    {
                        self.collection(indent, p, v)
                    }
                    _ => v.visit_unit(),
                }
            }
            b'|' => {
                r.pos += 1;
                let s = r.literal(parent as isize)?;
                v.visit_string(s)
            }
            b'{' | b'[' => {
                let close = if r.s[i] == b'{' { b'}' } else { b']' };
                if r.at(i + 1) != close {
                    return Err(Subset);
                }
                r.pos = i + 2;
                r.end_line()?;
                if close == b'}' {
                    v.visit_map(Empty)
                } else {
                    v.visit_seq(Empty)
                }
            }
            b'"' | b'\'' => {
                let s = r.quoted(Some(parent))?;
                if r.at(r.pos) == b':' {
                    // `- "key": value`: a mapping in a sequence entry (a key is on one line).
                    if matches!(self.at, At::Entry(_))
                        && matches!(r.at(r.pos + 1), b' ' | b'\n')
                        && !r.s[i..r.pos].contains(&b'\n')
                    {
                        r.pos = i;
                        return self.inline_map(i, v);
                    }
                    return Err(Subset);
                }
                r.end_line()?;
                Self::visit_scalar(v, Scalar::Quoted(s))
            }
            b if starts_plain(b, r.at(i + 1)) => match r.plain(parent)? {
                Some(s) => {
                    r.end_line()?;
                    Self::visit_scalar(v, Scalar::Plain(s))
                }
                None if matches!(self.at, At::Entry(_)) => {
                    r.pos = i;
                    self.inline_map(i, v)
                }
                None => Err(Subset),
            },
            _ => Err(Subset),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, _: V) -> R<V::Value> {
        // Only keys are read as strings, by [`Key`].
        Err(Subset)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        self.deserialize_any(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }

    leave_to_libyaml!();
}

impl<'de> Node<'_, 'de> {
    /// `- key: value`: a mapping whose first key is on the entry's line, at column `i`.
    fn inline_map<V: Visitor<'de>>(self, i: usize, v: V) -> R<V::Value> {
        let line_start = self.r.s[..i]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        self.r.enter()?;
        let out = v.visit_map(Map {
            r: self.r,
            indent: i - line_start,
            inline: true,
        });
        self.r.depth -= 1;
        out
    }
}

/// Whether a plain scalar may start with `b` followed by `next` (YAML's indicators may not,
/// except `-` before a non-space; `?` and `:` are left to libyaml).
fn starts_plain(b: u8, next: u8) -> bool {
    match b {
        b'-' => next != b' ' && next != b'\n',
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' => false,
        _ => true,
    }
}

/// A block mapping whose keys sit at column `indent`.
struct Map<'r, 'de> {
    r: &'r mut Reader<'de>,
    indent: usize,
    /// The first key is at the cursor, on the line of the `-` before it.
    inline: bool,
}

impl<'de> MapAccess<'de> for Map<'_, 'de> {
    type Error = Outside;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        let r = &mut *self.r;
        let p = if std::mem::take(&mut self.inline) {
            r.pos
        } else {
            match r.peek()? {
                None => return Ok(None),
                Some((indent, _)) if indent < self.indent => return Ok(None),
                Some((indent, p)) if indent == self.indent && !r.is_dash(p) => p,
                Some(_) => return Err(Subset),
            }
        };
        let key = match r.s[p] {
            b'"' | b'\'' => {
                r.pos = p;
                Scalar::Quoted(r.quoted(None)?)
            }
            b if starts_plain(b, r.at(p + 1)) => {
                // A key ends at its `: `, with no space before it.
                let (i, end, stop) = r.plain_run(p);
                if stop != Stop::Colon || end != i {
                    return Err(Subset);
                }
                r.pos = i;
                Scalar::Plain(Cow::Borrowed(&r.text[p..i]))
            }
            _ => return Err(Subset),
        };
        if r.at(r.pos) != b':' || !matches!(r.at(r.pos + 1), b' ' | b'\n') || r.pos - p > MAX_KEY {
            return Err(Subset);
        }
        r.pos += 1;
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        seed.deserialize(Node {
            r: self.r,
            at: At::Value(self.indent),
        })
    }
}

/// A block sequence whose `-` sit at column `indent`.
struct Seq<'r, 'de> {
    r: &'r mut Reader<'de>,
    indent: usize,
}

impl<'de> SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Outside;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        let r = &mut *self.r;
        match r.peek()? {
            None => Ok(None),
            Some((indent, _)) if indent < self.indent => Ok(None),
            Some((indent, p)) if indent == self.indent => {
                if !r.is_dash(p) {
                    // The end of a sequence at its key's column; the mapping reads on.
                    return Ok(None);
                }
                r.pos = p + 1;
                seed.deserialize(Node {
                    r,
                    at: At::Entry(self.indent),
                })
                .map(Some)
            }
            Some(_) => Err(Subset),
        }
    }
}

/// `{}` or `[]`.
struct Empty;

impl<'de> MapAccess<'de> for Empty {
    type Error = Outside;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> R<Option<K::Value>> {
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _: V) -> R<V::Value> {
        Err(Subset)
    }
}

impl<'de> SeqAccess<'de> for Empty {
    type Error = Outside;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, _: T) -> R<Option<T::Value>> {
        Ok(None)
    }
}

/// A mapping key.
struct Key<'de>(Scalar<'de>);

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = Outside;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        Node::visit_scalar(v, self.0)
    }

    /// `serde_yaml_ng` gives a scalar read as a string its text, unresolved (`80:` is "80").
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        match self.0 {
            Scalar::Plain(Cow::Borrowed(s)) | Scalar::Quoted(Cow::Borrowed(s)) => {
                v.visit_borrowed_str(s)
            }
            Scalar::Plain(Cow::Owned(s)) | Scalar::Quoted(Cow::Owned(s)) => v.visit_string(s),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        self.deserialize_str(v)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> R<V::Value> {
        self.deserialize_any(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct
    }

    leave_to_libyaml!();
}

/// What an untagged plain scalar is.
#[derive(Debug, PartialEq)]
enum Plain {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str,
}

/// Resolves a plain scalar as `serde_yaml_ng` resolves an untagged one: the null and bool
/// words, then an integer (unsigned, then negative; `0x`/`0o`/`0b` prefixes; digits after a
/// leading zero are a string), then a float (Rust's syntax and `.inf`/`.nan`, finite only),
/// else a string. An integer that only fits 128 bits stops the reader.
fn resolve(v: &str) -> R<Plain> {
    let Some(&first) = v.as_bytes().first() else {
        return Ok(Plain::Null);
    };
    // Most scalars are names and addresses that start with a letter: no word or number can
    // start with anything but these.
    if !matches!(
        first,
        b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F'
    ) {
        return Ok(Plain::Str);
    }
    match v {
        "~" | "null" | "Null" | "NULL" => return Ok(Plain::Null),
        "true" | "True" | "TRUE" => return Ok(Plain::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Plain::Bool(false)),
        _ => {}
    }
    if let Some(n) = unsigned(v, u64::from_str_radix) {
        return Ok(Plain::U64(n));
    }
    if let Some(n) = negative(v, i64::from_str_radix) {
        return Ok(Plain::I64(n));
    }
    if unsigned(v, u128::from_str_radix).is_some() || negative(v, i128::from_str_radix).is_some() {
        return Err(Subset);
    }
    if !leading_zero_digits(v) {
        if let Some(f) = float(v) {
            return Ok(Plain::F64(f));
        }
    }
    Ok(Plain::Str)
}

type Radix<T> = fn(&str, u32) -> Result<T, ParseIntError>;

const PREFIXES: [(&str, u32); 3] = [("0x", 16), ("0o", 8), ("0b", 2)];

fn unsigned<T>(v: &str, parse: Radix<T>) -> Option<T> {
    let u = v.strip_prefix('+').unwrap_or(v);
    for (prefix, radix) in PREFIXES {
        if let Some(rest) = u.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(n) = parse(rest, radix) {
                return Some(n);
            }
        }
    }
    if u.starts_with(['+', '-']) || leading_zero_digits(v) {
        return None;
    }
    parse(u, 10).ok()
}

fn negative<T>(v: &str, parse: Radix<T>) -> Option<T> {
    if let Some(u) = v.strip_prefix('-') {
        for (prefix, radix) in PREFIXES {
            if let Some(rest) = u.strip_prefix(prefix) {
                if let Ok(n) = parse(&format!("-{rest}"), radix) {
                    return Some(n);
                }
            }
        }
    }
    if leading_zero_digits(v) {
        return None;
    }
    parse(v, 10).ok()
}

/// Digits after a leading zero (`0123`, `-007`): a string in YAML 1.2.
fn leading_zero_digits(v: &str) -> bool {
    let d = v.strip_prefix(['-', '+']).unwrap_or(v);
    d.len() > 1 && d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit())
}

fn float(v: &str) -> Option<f64> {
    let u = match v.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return None,
        Some(u) => u,
        None => v,
    };
    if matches!(u, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(v, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(v, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    u.parse::<f64>().ok().filter(|f| f.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    /// What `serde_yaml_ng` (libyaml) makes of a text, read as the generic reader reads it.
    fn libyaml(text: &str) -> Result<Vec<Value>, String> {
        serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| Value::deserialize(d).map_err(|e| e.to_string()))
            .collect()
    }

    /// Whenever this reader reads a text, libyaml reads the same values from it.
    fn agrees(text: &str) -> Option<Vec<Value>> {
        let v = values(text)?;
        assert_eq!(Ok(&v), libyaml(text).as_ref(), "on\n{text}");
        Some(v)
    }

    fn repo_yaml_files() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![root.join("examples"), root.join("tests")];
        let mut out = Vec::new();
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn reads_the_repository_yaml_as_libyaml_does() {
        let files = repo_yaml_files();
        assert!(files.len() > 20, "{files:?}");
        let mut read = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            if agrees(&text).is_some() {
                read += 1;
            }
        }
        // The examples and `kubectl get -o yaml`'s own output must all be read here, not only
        // agree.
        let kubectl = files.iter().filter(|f| {
            let f = f.to_string_lossy();
            f.contains("/examples/") || f.contains("/tests/kubectl-yaml/")
        });
        assert!(kubectl.clone().count() > 4);
        for f in kubectl {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(
                values(&text).is_some(),
                "{} is outside the subset",
                f.display()
            );
        }
        assert!(read * 2 > files.len(), "{read} of {}", files.len());
    }

    #[test]
    fn reads_kubectl_output() {
        // As `kubectl get svc -o yaml` prints a list (go-yaml's style).
        let text = r#"apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"web"}}
    creationTimestamp: "2026-01-05T09:00:00Z"
    labels:
      app: web
    name: web
    resourceVersion: "1234"
  spec:
    clusterIP: 10.96.0.10
    clusterIPs:
    - 10.96.0.10
    ports:
    - name: http
      port: 80
      protocol: TCP
      targetPort: 8080
    - name: "443"
      port: 443
      targetPort: 8443
    selector:
      app: web
    sessionAffinity: None
    type: ClusterIP
  status:
    loadBalancer: {}
kind: List
metadata:
  resourceVersion: ""
"#;
        let v = agrees(text).expect("read");
        assert_eq!(v[0]["items"][0]["spec"]["ports"][1]["name"], "443");
        assert_eq!(v[0]["items"][0]["spec"]["ports"][0]["port"], 80);
        assert!(v[0]["items"][0]["metadata"]["annotations"]
            ["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap()
            .ends_with("}}\n"));
    }

    #[test]
    fn resolves_plain_scalars_as_libyaml_readers_do() {
        for s in [
            "",
            "~",
            "null",
            "NULL",
            "nULL",
            "true",
            "True",
            "tRUE",
            "false",
            "FALSE",
            "0",
            "-0",
            "+0",
            "007",
            "-007",
            "+007",
            "08",
            "0x1F",
            "0x",
            "0x-1",
            "-0x1F",
            "0o17",
            "0o8",
            "-0o17",
            "0b101",
            "-0b101",
            "0b2",
            "+0x10",
            "++1",
            "+-1",
            "-+1",
            "1_000",
            "1e3",
            "1E+3",
            "-1.5",
            "+1.5",
            ".5",
            "5.",
            ".inf",
            "-.Inf",
            "+.INF",
            ".nan",
            ".NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "1.0e400",
            "10.96.0.1",
            "2026-01-05",
            "1:2",
            "0.0",
            "-0.0",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "0xFFFFFFFFFFFFFFFFF",
            "99999999999999999999999999999999999999999",
            "1.2.3",
            "+",
            "-",
            ".",
            "e5",
            "0e0",
            "00.5",
            "0.5e-3",
        ] {
            let text = format!("k: {s}\n");
            let got = values(&text);
            match libyaml(&text) {
                Ok(want) => {
                    if let Some(got) = got {
                        assert_eq!(got, want, "{s:?}");
                    }
                }
                Err(_) => assert!(got.is_none(), "{s:?}"),
            }
        }
        // Those that fit 64 bits are read here (not handed back), and resolve alike.
        for s in [
            "0x1F",
            "-0o17",
            "1e3",
            ".nan",
            "007",
            "-9223372036854775808",
            "1.2.3",
        ] {
            assert!(values(&format!("k: {s}\n")).is_some(), "{s}");
        }
        assert!(values("k: 18446744073709551616\n").is_none());
    }

    #[test]
    fn stops_outside_the_subset() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: {b: 1}\n",
            "a: [1, 2]\n",
            "a: >\n  folded\n",
            "a: |+\n  keep\n\n",
            "a: |2\n   two\n",
            // Multi-line scalars where folding has rules of its own, or that libyaml refuses.
            "a: \"two \n  lines\"\n",
            "a: \"two\\\n\n  lines\"\n",
            "a: 'two\n lines\n'\n",
            "a: 'two\nlines'\n",
            "a: plain\n  continued: no\n",
            "- plain\n  - continued\n",
            "a: plain\n  \n  continued\n",
            "a: 'quoted\n  \n  continued'\n",
            "'two\n lines': 1\n",
            "a:\tb\n",
            "a: b\r\n",
            "%YAML 1.1\n---\na: 1\n",
            "a: 1\n...\n",
            "--- a\n",
            "a: 1\n---\n",
            "? a\n: b\n",
            "a: b: c\n",
            "- - a\n",
            "a: 1\n - b\n",
            "a:\n  b: 1\n c: 2\n",
            "# only a comment\n",
            "",
            "\u{feff}a: 1\n",
            "a: |\n  last line without a break",
            "a: |\n  x\n   \n  y\n",
            "a: \"\\q\"\n",
            "a: \"\\ud800\"\n",
            // Longer than libyaml's implicit keys, quoted or not.
            &format!("\"{}\": 1\n", "k".repeat(1100)),
            &format!("{}: 1\n", "k".repeat(1100)),
        ] {
            assert!(values(text).is_none(), "{text:?}");
        }
    }

    /// A value the visitor refuses is told apart from a text the reader leaves to libyaml: the
    /// typed reader then skips libyaml, whose values the visitor would refuse alike.
    #[test]
    fn tells_a_refused_value_from_a_text_outside_the_subset() {
        type Ports = std::collections::BTreeMap<String, u16>;
        let doc = documents("a: 80\nb: x\n").unwrap()[0];
        assert_eq!(
            read_document(doc, std::marker::PhantomData::<Ports>).unwrap_err(),
            Outside::Refused
        );
        assert!(serde_yaml_ng::from_str::<Ports>(doc).is_err());
        let doc = documents("a: 80\nb: &x 1\n").unwrap()[0];
        assert_eq!(
            read_document(doc, std::marker::PhantomData::<Ports>).unwrap_err(),
            Subset
        );
    }

    #[test]
    fn reads_documents_and_comments() {
        let v = agrees(
            "# head\n---\na: 1 # one\n\n# between\nb: 'it''s' # two\n---\n- x\n-\n- y: |-\n    z\n",
        )
        .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["b"], "it's");
        assert_eq!(v[1][1], Value::Null);
        assert_eq!(v[1][2]["y"], "z");
        let v = agrees("a: \"\\u00e9\\x41\\t\\\"\\\\ \\N\"\nb: a#b\nc: x:y\n\"d\": 1\n'e': 2\n")
            .unwrap();
        assert_eq!(v[0]["a"], "\u{e9}A\t\"\\ \u{85}");
        assert_eq!(v[0]["b"], "a#b");
        assert_eq!(v[0]["c"], "x:y");
        assert_eq!(v[0]["d"], 1);
        let v = agrees("a: |\n\n  x\n\n    y\n\n\nb: c\n").unwrap();
        assert_eq!(v[0]["a"], "\nx\n\n  y\n");
        // Long strings as go-yaml (kubectl) wraps them at 80 columns, and empty lines in them.
        let v = agrees(concat!(
            "metadata:\n  annotations:\n",
            "    kubernetes.io/limit-ranger: 'LimitRanger plugin set: cpu request for container\n",
            "      hostnames'\n",
            "  name: web\n",
        ))
        .unwrap();
        assert_eq!(
            v[0]["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
            "LimitRanger plugin set: cpu request for container hostnames"
        );
        let v = agrees(concat!(
            "a: 'LimitRanger plugin set: cpu request for container\n  hostnames'\n",
            "b: a plain one\n  that goes on\n\n  and on # until here\n",
            "c: \"escaped \\\n  \\ break\"\n",
            "d:\n- entry\n  wrapped\n- 1\n  2\n",
            "e: x\n  # a comment, not more of it\n",
        ))
        .unwrap();
        assert_eq!(
            v[0]["a"],
            "LimitRanger plugin set: cpu request for container hostnames"
        );
        assert_eq!(v[0]["b"], "a plain one that goes on\nand on");
        assert_eq!(v[0]["c"], "escaped  break");
        assert_eq!(v[0]["d"][0], "entry wrapped");
        assert_eq!(v[0]["d"][1], "1 2");
        assert_eq!(v[0]["e"], "x");
        // Lines of spaces between a scalar and the next key are blank lines.
        let v = agrees("a: x\n   \n  \nb: 'y'\n    \nc: z").unwrap();
        assert_eq!(
            (&v[0]["a"], &v[0]["b"], &v[0]["c"]),
            (&"x".into(), &"y".into(), &"z".into())
        );
    }

    /// A scalar written in one of YAML's styles; the plain style is written even when the text
    /// would read as something else, which the reader must then see (or stop on).
    fn scalar(s: &str, style: u8, indent: usize) -> String {
        // Styles 4-6: the first three, wrapped at every other space as go-yaml wraps at 80
        // columns (the next line indented two more).
        if (4..7).contains(&(style % 8)) {
            let one = scalar(s, style % 8 - 4, indent);
            let pad = format!("\n{}", " ".repeat(indent + 2));
            let mut spaces = 0;
            return one
                .split(' ')
                .enumerate()
                .fold(String::new(), |mut out, (k, w)| {
                    if k > 0 {
                        spaces += 1;
                        out.push_str(if spaces % 2 == 1 { &pad } else { " " });
                    }
                    out.push_str(w);
                    out
                });
        }
        match style % 4 {
            0 => s.to_owned(),
            1 => format!("'{}'", s.replace('\'', "''")),
            2 => format!(
                "\"{}\"",
                s.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            ),
            _ => {
                let pad = " ".repeat(indent + 2);
                let mut out = String::from("|\n");
                for line in s.split('\n') {
                    out.push_str(&pad);
                    out.push_str(line);
                    out.push('\n');
                }
                out.pop();
                out
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Tree {
        Leaf(String, u8),
        Map(Vec<(String, u8, Tree)>),
        Seq(Vec<Tree>),
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let text = "[a-z0-9 .:/#'\"\\\\+_~{},|!&*%@?=\\n-]{0,10}|[0-9.+-]{1,6}|(true|null|~|0x1f|-0o7|1e3|\\.inf)";
        let leaf = (text, any::<u8>()).prop_map(|(s, st)| Tree::Leaf(s, st));
        leaf.prop_recursive(4, 40, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(("[a-z0-9./:# '\"-]{1,8}", any::<u8>(), inner.clone()), 0..5)
                    .prop_map(Tree::Map),
                prop::collection::vec(inner, 0..5).prop_map(Tree::Seq),
            ]
        })
    }

    /// Writes a tree as block YAML with varied indentation, sequences under keys indented or
    /// not, and blank and comment lines; `layout` chooses.
    fn write(t: &Tree, indent: usize, next: &mut dyn FnMut() -> u8, out: &mut String) {
        match t {
            Tree::Leaf(s, st) => {
                out.push(' ');
                out.push_str(&scalar(s, *st, indent));
                out.push('\n');
            }
            Tree::Map(m) if m.is_empty() => out.push_str(" {}\n"),
            Tree::Seq(s) if s.is_empty() => out.push_str(" []\n"),
            Tree::Map(m) => {
                out.push('\n');
                let step = 1 + (next() % 3) as usize;
                for (k, st, v) in m {
                    match next() % 8 {
                        0 => out.push('\n'),
                        1 => out.push_str(&format!("{}# note\n", " ".repeat(next() as usize % 6))),
                        _ => {}
                    }
                    out.push_str(&" ".repeat(indent + step));
                    out.push_str(&scalar(k, st % 3, 0));
                    out.push(':');
                    write(v, indent + step, next, out);
                }
            }
            Tree::Seq(s) => {
                out.push('\n');
                let step = (next() % 3) as usize;
                for v in s {
                    out.push_str(&" ".repeat(indent + step));
                    out.push('-');
                    write(v, indent + step, next, out);
                }
            }
        }
    }

    fn document(t: &Tree, layout: &[u8]) -> String {
        let mut out = String::new();
        let mut l = layout.iter().copied().cycle();
        write(t, 0, &mut || l.next().unwrap_or(0), &mut out);
        // The root starts on the first line, at column 1 or more as written; move it to 0.
        let indent = out
            .lines()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map_or(0, |l| l.len() - l.trim_start().len());
        out.lines()
            .skip(1)
            .map(|l| l.get(indent..).unwrap_or(l.trim_start()).to_owned() + "\n")
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// On generated block YAML (scalars of every kind, in every style, some of them not
        /// what they seem), whatever this reader reads, libyaml reads the same.
        #[test]
        fn agrees_with_libyaml_on_generated_yaml(t in tree(), layout in prop::collection::vec(any::<u8>(), 1..16)) {
            let text = document(&t, &layout);
            agrees(&text);
        }

        /// And on random edits of it.
        #[test]
        fn agrees_with_libyaml_on_edited_yaml(
            t in tree(),
            layout in prop::collection::vec(any::<u8>(), 1..16),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..12), 1..4),
        ) {
            let mut text = document(&t, &layout).into_bytes();
            for (at, what) in edits {
                if text.is_empty() {
                    break;
                }
                let i = at.index(text.len());
                let piece: &[u8] = match what {
                    0 => b" ", 1 => b"\n", 2 => b":", 3 => b"- ", 4 => b"#", 5 => b"'", 6 => b"\"",
                    7 => b"|", 8 => b"---\n", 9 => b"  ", 10 => b"\\", _ => b"",
                };
                if piece.is_empty() {
                    text.remove(i);
                } else {
                    text.splice(i..i, piece.iter().copied());
                }
            }
            if let Ok(text) = String::from_utf8(text) {
                agrees(&text);
            }
        }

        /// Simple kubectl-shaped values (names, numbers, addresses) written by libyaml's own
        /// emitter are always read here, not handed back.
        #[test]
        fn reads_what_libyaml_writes_for_simple_values(
            v in prop::collection::btree_map("[a-z][a-z0-9./-]{0,8}",
                prop::collection::vec(prop_oneof![
                    "[a-z0-9][a-z0-9.:/-]{0,10}".prop_map(Value::from),
                    any::<u16>().prop_map(Value::from),
                    any::<bool>().prop_map(Value::from),
                ], 0..4), 0..6),
        ) {
            let text = serde_yaml_ng::to_string(&v).unwrap();
            let read = agrees(&text);
            prop_assert!(read.is_some() || v.is_empty(), "outside:\n{}", text);
        }
    }
}
