//! Hostile YAML stays bounded: deep flow nesting (found running hostile seeds through the
//! `loader_yaml` fuzz target: libyaml's scanner is quadratic in open `[`/`{` levels) and alias
//! bombs end in an error within a bounded time, naming file and line.

use std::time::{Duration, Instant};

fn load(text: &str) -> svccore::Result<svccore::Cluster> {
    svccore::load::load_strs([(Some("deep.yaml"), text)])
}

#[test]
fn deep_flow_nesting_is_refused_at_the_level_that_passes_the_limit() {
    // 100 000 levels took minutes before the limit; now one linear pass refuses it.
    let text = format!("kind: Service\nmetadata: {}\n", "[".repeat(100_000));
    let t = Instant::now();
    let e = load(&text).unwrap_err().to_string();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(
        e,
        "cannot parse input: deep.yaml: line 2 column 267: invalid YAML: `[`/`{` nested deeper \
         than 256 levels"
    );
}

#[test]
fn nesting_the_deserializer_refuses_keeps_its_message() {
    // 200 levels: under the scan's limit, past serde_yaml_ng's 128.
    let text = format!("kind: Service\nmetadata: {}\n", "{a: ".repeat(200));
    let e = load(&text).unwrap_err().to_string();
    assert!(e.contains("recursion limit exceeded"), "{e}");
}

#[test]
fn brackets_in_comments_and_quoted_strings_are_not_nesting() {
    let many = "[".repeat(1000);
    let text = format!(
        "# {many}\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\n  \
         annotations: {{a: \"{many}\", b: '{many}'}}\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  \
         - port: 80\n"
    );
    let c = load(&text).unwrap();
    assert_eq!(c.services.len(), 1);
}

#[test]
fn alias_bomb_ends_in_bounded_time() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for n in 'b'..='j' {
        text += &format!("{n}: &{n} [{}]\n", vec![format!("*{prev}"); 9].join(", "));
        prev = n;
    }
    let t = Instant::now();
    let r = load(&text);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // Nine levels of nine aliases (387 million nodes) is refused, not expanded.
    let e = r.unwrap_err().to_string();
    assert!(e.starts_with("cannot parse input: deep.yaml: "), "{e}");
}
