//! The README's rule table is generated from the registry; this test fails when they drift.
//! To update: run `cargo test --test readme` and paste the printed table between the markers.

use otel_lsp::rules::ALL;

fn expected_table() -> String {
    let mut t = String::from(
        "| Code | Name | Topic | Severity | Files | Fix | What it finds |\n|---|---|---|---|---|---|---|\n",
    );
    for r in ALL {
        t.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} |\n",
            r.code,
            r.name,
            r.topic.as_str(),
            r.severity.as_str(),
            r.languages_label().replace(',', ", "),
            r.fix.as_str(),
            r.summary.replace('|', "\\|"),
        ));
    }
    t
}

#[test]
fn readme_rule_table_matches_the_registry() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = "<!-- rules:start -->\n";
    let end = "<!-- rules:end -->";
    let a = readme.find(start).expect("README has a rules:start marker") + start.len();
    let b = readme.find(end).expect("README has a rules:end marker");
    let want = expected_table();
    assert!(
        readme[a..b] == want,
        "README rule table is out of date; replace it with:\n\n{want}"
    );
}
