//! Table-driven tests of the constraint ALTERs: the expected forward and reverse SQL, written
//! out, each plan also proved by [`super::verify`].

use rusqlite::Connection;

use super::{Direction, Safety, SqliteVersion, Target, plan_for, plan_verified, verify};
use crate::diff::diff;
use crate::dsl::Renames;
use crate::inspect;
use crate::model::Schema;

fn schema(ddl: &str) -> Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(ddl).unwrap();
    inspect(&conn).unwrap()
}

struct Case {
    name: &'static str,
    current: &'static str,
    desired: &'static str,
    /// Per step: (kind, forward, reverse).
    steps: Vec<(Safety, Vec<&'static str>, Vec<&'static str>)>,
}

/// The 12-step rebuild of table `t` (https://www.sqlite.org/lang_altertable.html).
fn rebuild_t(create: &'static str, copy: &'static str) -> Vec<&'static str> {
    vec![
        create,
        copy,
        "DROP TABLE t",
        "PRAGMA legacy_alter_table = ON",
        "ALTER TABLE _schemactl_new_t RENAME TO t",
        "PRAGMA legacy_alter_table = OFF",
    ]
}

const COPY_A: &str = "INSERT OR ABORT INTO _schemactl_new_t (rowid, a) SELECT rowid, a FROM t";
const COPY_AB: &str =
    "INSERT OR ABORT INTO _schemactl_new_t (rowid, a, b) SELECT rowid, a, b FROM t";

fn run(case: &Case, target: Target) -> super::Plan {
    let current = schema(case.current);
    let desired = schema(case.desired);
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    let plan = plan_for(&current, &desired, &changes, target);
    verify(&plan, &current, &desired).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    if target == Target::BUNDLED {
        // Planned with the steps as written and the whole plan proved (sync's way): the same
        // plan as with each step proved, in every case.
        let verified = plan_verified(&current, &desired, &changes)
            .unwrap_or_else(|e| panic!("{}: plan_verified: {e}", case.name));
        assert_eq!(verified, plan, "{}: plan_verified", case.name);
    }
    plan
}

fn steps(plan: &super::Plan) -> Vec<(Safety, Vec<&str>, Vec<&str>)> {
    plan.steps
        .iter()
        .map(|s| {
            (
                s.kind.safety(),
                s.forward.iter().map(String::as_str).collect(),
                s.reverse.iter().map(String::as_str).collect(),
            )
        })
        .collect()
}

#[test]
fn constraint_changes_run_in_place_when_sqlite_can_make_them() {
    let cases = vec![
        Case {
            name: "add a named table CHECK: ADD CONSTRAINT, dropped by name on reverse",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER, CONSTRAINT a_pos CHECK (a > 0))",
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0)"],
                vec!["ALTER TABLE t DROP CONSTRAINT a_pos"],
            )],
        },
        Case {
            name: "drop a named table CHECK: DROP CONSTRAINT, added back on reverse",
            current: "CREATE TABLE t (a INTEGER, CONSTRAINT a_pos CHECK (a > 0))",
            desired: "CREATE TABLE t (a INTEGER)",
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t DROP CONSTRAINT a_pos"],
                vec!["ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0)"],
            )],
        },
        Case {
            name: "change a named CHECK: drop it by name, add the new one",
            current: "CREATE TABLE t (a INTEGER, CONSTRAINT a_pos CHECK (a > 0))",
            desired: "CREATE TABLE t (a INTEGER, CONSTRAINT a_pos CHECK (a >= 0))",
            steps: vec![
                (
                    Safety::Safe,
                    vec!["ALTER TABLE t DROP CONSTRAINT a_pos"],
                    vec!["ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0)"],
                ),
                (
                    Safety::Safe,
                    vec!["ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a >= 0)"],
                    vec!["ALTER TABLE t DROP CONSTRAINT a_pos"],
                ),
            ],
        },
        Case {
            name: "a name that needs quoting is quoted",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER, CONSTRAINT \"we\"\"ird name\" CHECK (a <> 0))",
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t ADD CONSTRAINT \"we\"\"ird name\" CHECK (a <> 0)"],
                vec!["ALTER TABLE t DROP CONSTRAINT \"we\"\"ird name\""],
            )],
        },
        Case {
            name: "set NOT NULL: ALTER COLUMN, dropped again on reverse",
            current: "CREATE TABLE t (a INTEGER, b TEXT)",
            desired: "CREATE TABLE t (a INTEGER, b TEXT NOT NULL)",
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t ALTER COLUMN b SET NOT NULL"],
                vec!["ALTER TABLE t ALTER COLUMN b DROP NOT NULL"],
            )],
        },
        Case {
            name: "drop NOT NULL: ALTER COLUMN, set again on reverse",
            current: "CREATE TABLE t (a INTEGER NOT NULL, b TEXT)",
            desired: "CREATE TABLE t (a INTEGER, b TEXT)",
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t ALTER COLUMN a DROP NOT NULL"],
                vec!["ALTER TABLE t ALTER COLUMN a SET NOT NULL"],
            )],
        },
        Case {
            name: "drop a named foreign key: DROP CONSTRAINT; no ALTER adds it back, so the reverse rebuilds",
            current: "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE t (a INTEGER, CONSTRAINT fk_a FOREIGN KEY (a) REFERENCES p (id) ON DELETE CASCADE)",
            desired: "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE t (a INTEGER)",
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t DROP CONSTRAINT fk_a"],
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  CONSTRAINT fk_a FOREIGN KEY (a) REFERENCES p (id) ON DELETE CASCADE\n)",
                    COPY_A,
                ),
            )],
        },
        Case {
            name: "drop a named column CHECK: DROP CONSTRAINT; ADD CONSTRAINT would put it on the table, so the reverse rebuilds",
            current: "CREATE TABLE t (a INTEGER CONSTRAINT a_pos CHECK (a > 0))",
            desired: "CREATE TABLE t (a INTEGER)",
            steps: vec![(
                Safety::Safe,
                vec!["ALTER TABLE t DROP CONSTRAINT a_pos"],
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER CONSTRAINT a_pos CHECK (a > 0)\n)",
                    COPY_A,
                ),
            )],
        },
        Case {
            name: "drop a named CHECK and the column it uses: the CHECK goes first, then DROP COLUMN",
            current: "CREATE TABLE t (a INTEGER, b INTEGER, CONSTRAINT b_pos CHECK (b > 0))",
            desired: "CREATE TABLE t (a INTEGER)",
            steps: vec![
                (
                    Safety::Safe,
                    vec!["ALTER TABLE t DROP CONSTRAINT b_pos"],
                    vec!["ALTER TABLE t ADD CONSTRAINT b_pos CHECK (b > 0)"],
                ),
                (
                    Safety::Destructive,
                    vec!["ALTER TABLE t DROP COLUMN b"],
                    vec!["ALTER TABLE t ADD COLUMN b INTEGER"],
                ),
            ],
        },
        Case {
            name: "NOT NULL and a named CHECK on a column added in the same change",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER NOT NULL, b TEXT, CONSTRAINT b_short CHECK (length(b) < 10))",
            steps: vec![
                (
                    Safety::Safe,
                    vec!["ALTER TABLE t ADD COLUMN b TEXT"],
                    vec!["ALTER TABLE t DROP COLUMN b"],
                ),
                (
                    Safety::Safe,
                    vec!["ALTER TABLE t ALTER COLUMN a SET NOT NULL"],
                    vec!["ALTER TABLE t ALTER COLUMN a DROP NOT NULL"],
                ),
                (
                    Safety::Safe,
                    vec!["ALTER TABLE t ADD CONSTRAINT b_short CHECK (length(b) < 10)"],
                    vec!["ALTER TABLE t DROP CONSTRAINT b_short"],
                ),
            ],
        },
        Case {
            name: "an unnamed CHECK added: a rebuild both ways (it could not be dropped by name)",
            current: "CREATE TABLE t (a INTEGER)",
            desired: "CREATE TABLE t (a INTEGER, CHECK (a > 0))",
            steps: vec![(
                Safety::Rebuild,
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  CHECK (a > 0)\n)",
                    COPY_A,
                ),
                rebuild_t("CREATE TABLE _schemactl_new_t (\n  a INTEGER\n)", COPY_A),
            )],
        },
        Case {
            name: "an unnamed foreign key dropped: a rebuild",
            current: "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE t (a INTEGER REFERENCES p (id))",
            desired: "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE t (a INTEGER)",
            steps: vec![(
                Safety::Rebuild,
                rebuild_t("CREATE TABLE _schemactl_new_t (\n  a INTEGER\n)", COPY_A),
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  FOREIGN KEY (a) REFERENCES p (id)\n)",
                    COPY_A,
                ),
            )],
        },
        Case {
            name: "a named column CHECK added: SQLite adds checks in place only on the table, so a rebuild",
            current: "CREATE TABLE t (a INTEGER, b INTEGER)",
            desired: "CREATE TABLE t (a INTEGER, b INTEGER CONSTRAINT b_pos CHECK (b > 0))",
            steps: vec![(
                Safety::Rebuild,
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  b INTEGER CONSTRAINT b_pos CHECK (b > 0)\n)",
                    COPY_AB,
                ),
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  b INTEGER\n)",
                    COPY_AB,
                ),
            )],
        },
        Case {
            name: "NOT NULL with a type change: a rebuild",
            current: "CREATE TABLE t (a INTEGER, b TEXT)",
            desired: "CREATE TABLE t (a INTEGER, b BLOB NOT NULL)",
            steps: vec![(
                Safety::Rebuild,
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  b BLOB NOT NULL\n)",
                    COPY_AB,
                ),
                rebuild_t(
                    "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  b TEXT\n)",
                    COPY_AB,
                ),
            )],
        },
    ];
    for case in &cases {
        let plan = run(case, Target::BUNDLED);
        assert_eq!(steps(&plan), case.steps, "{}", case.name);
    }
}

#[test]
fn a_rebuild_a_name_would_avoid_says_so() {
    let case = Case {
        name: "unnamed check dropped",
        current: "CREATE TABLE t (a INTEGER, CHECK (a > 0))",
        desired: "CREATE TABLE t (a INTEGER)",
        steps: Vec::new(),
    };
    let plan = run(&case, Target::BUNDLED);
    assert_eq!(
        plan.steps[0].summary,
        "rebuild table t (drop check); a rebuild because the check (a > 0) has no name, so SQLite cannot drop it in place; name each check and foreign key (`name:` in the schema file) and declare new checks on the table, so that later changes run in place"
    );
    let typed = Case {
        name: "unnamed check dropped with a type change",
        current: "CREATE TABLE t (a INTEGER, b TEXT, CHECK (a > 0))",
        desired: "CREATE TABLE t (a TEXT, b TEXT)",
        steps: Vec::new(),
    };
    // A type change rebuilds anyway: no advice about names.
    let plan = run(&typed, Target::BUNDLED);
    assert_eq!(
        plan.steps[0].summary,
        "rebuild table t (change column a, drop check)"
    );
    let on_column = Case {
        name: "named column check added",
        current: "CREATE TABLE t (a INTEGER)",
        desired: "CREATE TABLE t (a INTEGER CONSTRAINT a_pos CHECK (a > 0))",
        steps: Vec::new(),
    };
    let plan = run(&on_column, Target::BUNDLED);
    assert_eq!(
        plan.steps[0].summary,
        "rebuild table t (change column a); a rebuild because SQLite adds a check in place only on the table, not on column a; name each check and foreign key (`name:` in the schema file) and declare new checks on the table, so that later changes run in place"
    );
}

#[test]
fn an_older_target_rebuilds_and_the_script_names_the_sqlite_it_needs() {
    let case = Case {
        name: "named check added",
        current: "CREATE TABLE t (a INTEGER)",
        desired: "CREATE TABLE t (a INTEGER, CONSTRAINT a_pos CHECK (a > 0))",
        steps: Vec::new(),
    };
    let native = run(&case, Target::BUNDLED);
    let script = native.script(Direction::Forward);
    assert!(
        script.lines().nth(2).unwrap().starts_with(
            "-- Needs SQLite 3.53.0 or later (ALTER TABLE ... ADD CONSTRAINT, DROP CONSTRAINT, ALTER COLUMN ... NOT NULL)"
        ),
        "{script}"
    );
    let compat = Target {
        sqlite: SqliteVersion::parse("3.40").unwrap(),
    };
    let old = run(&case, compat);
    assert_eq!(
        steps(&old),
        vec![(
            Safety::Rebuild,
            rebuild_t(
                "CREATE TABLE _schemactl_new_t (\n  a INTEGER,\n  CONSTRAINT a_pos CHECK (a > 0)\n)",
                COPY_A,
            ),
            rebuild_t("CREATE TABLE _schemactl_new_t (\n  a INTEGER\n)", COPY_A),
        )]
    );
    assert!(!old.script(Direction::Forward).contains("Needs SQLite"));
    // The script of the native plan runs on the bundled SQLite and leaves the desired table.
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(case.current).unwrap();
    conn.execute_batch(&script).unwrap();
    assert_eq!(inspect(&conn).unwrap(), schema(case.desired));
}

#[test]
fn versions_parse_and_order() {
    assert_eq!(
        SqliteVersion::parse("3.40"),
        Some(SqliteVersion::new(3, 40, 0))
    );
    assert_eq!(
        SqliteVersion::parse("3.53.1"),
        Some(SqliteVersion::new(3, 53, 1))
    );
    for bad in ["", "3", "3.x", "3.40.1.2", "three"] {
        assert_eq!(SqliteVersion::parse(bad), None, "{bad}");
    }
    assert!(SqliteVersion::new(3, 9, 0) < SqliteVersion::new(3, 40, 0));
    assert!(
        !Target {
            sqlite: SqliteVersion::new(3, 52, 9)
        }
        .constraint_alters()
    );
    assert!(Target::BUNDLED.constraint_alters());
}

#[test]
fn the_sqlite_a_statement_needs_is_read_past_any_table_name() {
    use super::constraint::requires;
    use crate::sql::ident;
    let v = |m| Some(SqliteVersion::new(3, m, 0));
    for table in [
        "t",
        "表",
        "a b",
        "x\"y",
        "é ADD CONSTRAINT x",
        "DROP COLUMN",
    ] {
        let t = ident(table);
        let cases = [
            (format!("ALTER TABLE {t} RENAME TO \"表\""), None),
            (format!("ALTER TABLE {t} RENAME TO {}", ident("é")), None),
            (format!("ALTER TABLE {t} RENAME COLUMN a TO b"), v(25)),
            (format!("ALTER TABLE {t} DROP COLUMN \"表\""), v(35)),
            (
                format!("ALTER TABLE {t} ADD COLUMN \"ADD CONSTRAINT\" TEXT"),
                None,
            ),
            (
                format!("ALTER TABLE {t} ADD CONSTRAINT c CHECK (a > 0)"),
                v(53),
            ),
            (format!("ALTER TABLE {t} DROP CONSTRAINT \"表\""), v(53)),
            (
                format!("ALTER TABLE {t} ALTER COLUMN a SET NOT NULL"),
                v(53),
            ),
            (format!("CREATE TABLE {t} (a)"), None),
        ];
        for (sql, want) in cases {
            assert_eq!(requires(&sql).map(|(v, _)| v), want, "{sql}");
        }
    }
}

#[test]
fn a_native_reverse_the_whole_plan_cannot_prove_is_replanned_with_each_step_proved() {
    // ADD CONSTRAINT would put the dropped column CHECK back on the table, not on the
    // column: the reverse written natively does not restore `current`, so the plan made with
    // the steps as written fails the whole plan's proof, and the one made with each step
    // proved (a rebuild reverse) is returned.
    let current = schema("CREATE TABLE t (a INTEGER CONSTRAINT a_pos CHECK (a > 0))");
    let desired = schema("CREATE TABLE t (a INTEGER)");
    let changes = diff(&current, &desired, &Renames::default()).unwrap();
    let trusted = super::plan_with(
        &current,
        &desired,
        &changes,
        Target::BUNDLED,
        super::Proofs::ByThePlan,
    );
    assert_eq!(
        trusted.steps[0].reverse,
        ["ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0)"]
    );
    assert!(verify(&trusted, &current, &desired).is_err());
    let verified = plan_verified(&current, &desired, &changes).unwrap();
    assert_eq!(
        verified,
        plan_for(&current, &desired, &changes, Target::BUNDLED)
    );
    assert!(
        verified.steps[0].reverse.len() > 1,
        "{:?}",
        verified.steps[0].reverse
    );
    assert_eq!(
        verified.steps[0].forward,
        ["ALTER TABLE t DROP CONSTRAINT a_pos"]
    );
}
