//! `plan` refuses exactly the plans `sync` refuses before running them, with the same message
//! (h8_06): a step whose stash could not find its rows again (a WITHOUT ROWID table whose key
//! column is renamed, narrowed or reordered while the step stashes) is refused by the human
//! plan, `plan --format json` and `plan --check` as by `sync`, and a plan that `sync` runs is
//! shown. Random tables (WITHOUT ROWID or not, a composite key) and random changes (a key
//! column narrowed, renamed, the key reordered, a column dropped), with rows (32 cases).

mod common;

use common::{schemactl, stderr, stdout};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    without_rowid: bool,
    narrow: bool,
    rename: bool,
    reorder: bool,
    drop_v: bool,
}

fn schema(version: u32, case: &Case, changed: bool) -> String {
    let mut s = format!("schemactl: 1\nversion: {version}\ntables:\n  t:\n    columns:\n");
    let (a_type, b_name, key) = if changed {
        (
            if case.narrow { "INTEGER" } else { "TEXT" },
            if case.rename { "c" } else { "b" },
            if case.reorder { [1, 0] } else { [0, 1] },
        )
    } else {
        ("TEXT", "b", [0, 1])
    };
    s.push_str(&format!("      a: {{ type: {a_type} }}\n"));
    if changed && case.rename {
        s.push_str("      c: { type: TEXT, renamed_from: b }\n");
    } else {
        s.push_str("      b: { type: TEXT }\n");
    }
    if !(changed && case.drop_v) {
        s.push_str("      v: { type: TEXT }\n");
    }
    let names = ["a", b_name];
    s.push_str(&format!(
        "    primary_key: [{}, {}]\n",
        names[key[0]], names[key[1]]
    ));
    if case.without_rowid {
        s.push_str("    without_rowid: true\n");
    }
    s
}

/// The first line of an error, without its mark.
fn error_line(err: &str) -> String {
    err.lines()
        .find(|l| l.contains('×'))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn run_case(case: &Case, rows: &[(String, String)]) -> Result<(), TestCaseError> {
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), schema(1, case, false)).unwrap();
    common::ok_in(d, &["sync", "--yes"]);
    {
        let conn = rusqlite::Connection::open(d.join("db.sqlite")).unwrap();
        for (a, b) in rows {
            conn.execute(
                "INSERT INTO t (a, b, v) VALUES (?1, ?2, 'v')",
                rusqlite::params![a, b],
            )
            .unwrap();
        }
    }
    std::fs::write(d.join("schema/s.yaml"), schema(2, case, true)).unwrap();
    let human = schemactl(d, &["plan", "--no-lint"]);
    let json = schemactl(d, &["plan", "--no-lint", "--format", "json"]);
    let check = schemactl(d, &["plan", "--no-lint", "--check"]);
    let sync = schemactl(
        d,
        &["sync", "--yes", "--allow-destructive", "--ignore-lint"],
    );
    let sync_refused = sync.status.code() == Some(1);
    let sync_err = error_line(&stderr(&sync));
    for (what, out) in [
        ("plan", &human),
        ("plan --format json", &json),
        ("plan --check", &check),
    ] {
        let refused = out.status.code() == Some(1);
        prop_assert_eq!(
            refused,
            sync_refused,
            "{:?}: {} {:?} but sync {:?}:\n{}{}\nsync: {}{}",
            case,
            what,
            out.status.code(),
            sync.status.code(),
            stdout(out),
            stderr(out),
            stdout(&sync),
            stderr(&sync)
        );
        if refused {
            prop_assert_eq!(error_line(&stderr(out)), sync_err.clone(), "{:?}", case);
        }
    }
    // The plain script stashes nothing: it is printed whatever sync says.
    let sql = schemactl(d, &["plan", "--no-lint", "--format", "sql"]);
    prop_assert_eq!(sql.status.code(), Some(0), "{}", stderr(&sql));
    Ok(())
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter("a change", |(_, n, r, o, d)| *n || *r || *o || *d)
        .prop_map(|(without_rowid, narrow, rename, reorder, drop_v)| Case {
            without_rowid,
            narrow,
            rename,
            reorder,
            drop_v,
        })
}

fn rows() -> impl Strategy<Value = Vec<(String, String)>> {
    // Key values that stay distinct when `a` narrows to INTEGER.
    prop::collection::btree_map(
        prop::sample::select(vec!["007", "abc", "12", "x y", "1e1", "-3"]),
        "[a-z]{1,3}",
        0..4,
    )
    .prop_map(|m| m.into_iter().map(|(a, b)| (a.to_string(), b)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn plan_refuses_exactly_what_sync_refuses(case in case(), rows in rows()) {
        run_case(&case, &rows)?;
    }
}

/// The hostile report's case: key (a, b) of a WITHOUT ROWID table, a narrowed, b renamed to
/// c, the key reordered.
#[test]
fn a_narrowed_renamed_reordered_without_rowid_key_is_refused_by_plan_as_by_sync() {
    let case = Case {
        without_rowid: true,
        narrow: true,
        rename: true,
        reorder: true,
        drop_v: false,
    };
    run_case(
        &case,
        &[("007".into(), "x".into()), ("abc".into(), "z".into())],
    )
    .unwrap();
    let dir = common::empty_project();
    let d = dir.path();
    std::fs::write(d.join("schema/s.yaml"), schema(1, &case, false)).unwrap();
    common::ok_in(d, &["sync", "--yes"]);
    std::fs::write(d.join("schema/s.yaml"), schema(2, &case, true)).unwrap();
    let err = common::fails_in(d, &["plan"], 1);
    assert!(
        err.contains("change the primary key in a migration of its own first"),
        "{err}"
    );
}
