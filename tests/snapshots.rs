//! The canonical dump of the schema at head, held in snapshots/ (insta): schema/ must match
//! it, the migrations replayed from empty must build it, and every rollback from head back to
//! empty must work and give what the migrations build up to that version.
//!
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test --test snapshots`) accepts a
//! change; with `CI=true` a mismatch fails and writes nothing.

mod common;

use schemactl::apply::{self, Options};
use schemactl::migrations::expected_schema;
use schemactl::normal::dump;

fn check(dump: String) {
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("schema", dump);
    });
}

fn files() -> Vec<schemactl::migrations::Migration> {
    schemactl::migrations::load(
        &common::repo_root().join("migrations"),
        &common::repo_root().join("rollbacks"),
    )
    .unwrap()
}

#[test]
fn schema_dir_matches_the_snapshot() {
    let desired = schemactl::dsl::load(&common::repo_root().join("schema")).unwrap();
    check(dump(&desired.schema));
}

#[test]
fn the_migrations_replayed_from_empty_build_the_snapshot() {
    let list = files();
    check(dump(&expected_schema(&list).unwrap()));
}

#[test]
fn every_rollback_from_head_to_empty_gives_the_replay_up_to_that_version() {
    let dir = common::temp_dir();
    let opts = Options {
        migrations: common::repo_root().join("migrations"),
        rollbacks: common::repo_root().join("rollbacks"),
        skip_backup: true,
        allow_destructive: true,
        verify: true,
        ..common::pipeline_options(dir.path(), dir.path().join("db.sqlite"))
    };
    apply::apply(&opts, &mut |_| {}).unwrap();
    let list = files();
    assert!(list.len() >= 2);
    for remaining in (0..list.len()).rev() {
        apply::rollback(&opts, "last", false, &mut |_| {}).unwrap();
        let conn = rusqlite::Connection::open(&opts.database).unwrap();
        let expected = expected_schema(&list[..remaining]).unwrap();
        assert_eq!(
            schemactl::inspect(&conn).unwrap(),
            expected,
            "after rolling back to {remaining} migration(s)"
        );
    }
    let conn = rusqlite::Connection::open(&opts.database).unwrap();
    assert!(schemactl::inspect(&conn).unwrap().tables.is_empty());
}

#[test]
fn schemactl_snapshot_writes_the_same_file() {
    let dir = common::temp_dir();
    let out = assert_cmd::Command::cargo_bin("schemactl")
        .unwrap()
        .current_dir(common::repo_root())
        .args(["snapshot", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("schema.snap")).unwrap();
    let held = std::fs::read_to_string(common::repo_root().join("snapshots/schema.snap")).unwrap();
    let body = |s: &str| {
        s.splitn(3, "---\n")
            .nth(2)
            .unwrap_or_default()
            .trim_end()
            .to_string()
    };
    assert_eq!(body(&written), body(&held));
    assert!(!body(&held).is_empty());
    // Issue 20: the whole file, header included, byte for byte: the file insta writes (it
    // persists no `assertion_line`) is the file `schemactl snapshot` writes.
    assert_eq!(written, held);
    assert!(!held.contains("assertion_line"));
}

/// Over an existing snapshot (another project's test, with insta's older `assertion_line`),
/// `schemactl snapshot` keeps the header naming that test and drops `assertion_line`, as
/// insta does when it rewrites the file.
#[test]
fn schemactl_snapshot_keeps_the_header_of_the_test_that_owns_the_file() {
    let dir = common::temp_dir();
    let path = dir.path().join("schema.snap");
    std::fs::write(
        &path,
        "---\nsource: tests/schema_snapshot.rs\nassertion_line: 7\nexpression: \"schemactl::normal::dump(&desired.schema)\"\n---\nCREATE TABLE old (a);\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("schemactl")
        .unwrap()
        .current_dir(common::repo_root())
        .args(["snapshot", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let desired = schemactl::load(&common::repo_root().join("schema")).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!(
            "---\nsource: tests/schema_snapshot.rs\nexpression: \"schemactl::normal::dump(&desired.schema)\"\n---\n{}",
            dump(&desired.schema)
        )
    );
}
