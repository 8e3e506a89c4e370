//! `schemactl import` as a real process on real database files.

mod common;

use assert_cmd::Command;
use schemactl::dsl;

fn schemactl(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("schemactl").unwrap();
    cmd.current_dir(dir).env_remove("SCHEMACTL_DATABASE");
    cmd
}

#[test]
fn import_of_the_memory_database_equals_schema_memory_yaml() {
    let dir = common::temp_dir();
    let db = common::db_from_ddl(
        dir.path(),
        "memory.db",
        &format!(
            "{}{}{}",
            common::MEMORY_DDL,
            common::RUNBOOK_V2,
            common::RUNBOOK_V3
        ),
    );
    let out = schemactl(dir.path())
        .args(["import", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "unexpected warnings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported = dsl::load_str("imported.yaml", &String::from_utf8(out.stdout).unwrap()).unwrap();
    let ours = dsl::load(&common::repo_root().join("schema/memory.yaml")).unwrap();
    assert_eq!(imported.schema, ours.schema);
    assert_eq!(ours.version, 3);
    // And the comparison is not vacuous: the six tables and eight indexes are there.
    assert_eq!(ours.schema.tables.len(), 6);
    assert_eq!(
        ours.schema
            .tables
            .iter()
            .map(|t| t.indexes.len())
            .sum::<usize>(),
        8
    );
}

#[test]
fn the_issue_ddl_is_what_migration_v1_builds() {
    let files = schemactl::migrations::load(
        &common::repo_root().join("migrations"),
        &common::repo_root().join("rollbacks"),
    )
    .unwrap();
    let replayed = schemactl::migrations::expected_schema(&files[..1]).unwrap();
    assert_eq!(
        replayed,
        common::converge::schema_of(common::MEMORY_DDL).unwrap()
    );
}

#[test]
fn a_changed_database_is_not_equal_to_schema_memory_yaml() {
    let dir = common::temp_dir();
    let ddl = common::MEMORY_DDL.replace(
        "confidence REAL NOT NULL DEFAULT 0.5",
        "confidence REAL NOT NULL DEFAULT 0.75",
    );
    let db = common::db_from_ddl(dir.path(), "memory.db", &ddl);
    let out = schemactl(dir.path())
        .args(["import", "-d"])
        .arg(&db)
        .output()
        .unwrap();
    let imported = dsl::load_str("imported.yaml", &String::from_utf8(out.stdout).unwrap()).unwrap();
    let ours = dsl::load(&common::repo_root().join("schema/memory.yaml")).unwrap();
    assert_ne!(imported.schema, ours.schema);
}

#[test]
fn import_writes_a_file_and_never_overwrites_one() {
    let dir = common::temp_dir();
    let db = common::db_from_ddl(dir.path(), "m.db", common::MEMORY_DDL);
    let out_file = dir.path().join("schema.yaml");
    schemactl(dir.path())
        .args(["import", "-d"])
        .arg(&db)
        .arg("--out")
        .arg(&out_file)
        .assert()
        .success();
    let first = std::fs::read_to_string(&out_file).unwrap();
    assert!(first.contains("pattern_embeddings:"));
    let out = schemactl(dir.path())
        .args(["import", "-d"])
        .arg(&db)
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema.yaml"));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), first);
}

#[test]
fn the_database_comes_from_the_env_var_and_the_config_file() {
    let dir = common::temp_dir();
    common::db_from_ddl(dir.path(), "env.db", "CREATE TABLE from_env (a);");
    std::fs::create_dir(dir.path().join("data")).unwrap();
    common::db_from_ddl(
        &dir.path().join("data"),
        "conf.db",
        "CREATE TABLE from_config (a);",
    );
    std::fs::write(
        dir.path().join("schemactl.toml"),
        "database = \"data/conf.db\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    // The config file is found from a subdirectory, and its paths are relative to it.
    let out = schemactl(&dir.path().join("sub"))
        .arg("import")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("from_config:"),
        "{out:?}"
    );
    let out = schemactl(&dir.path().join("sub"))
        .arg("import")
        .env("SCHEMACTL_DATABASE", dir.path().join("env.db"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("from_env:"),
        "{out:?}"
    );
}

#[test]
fn bad_databases_get_a_message_and_exit_1() {
    let dir = common::temp_dir();
    std::fs::write(dir.path().join("junk.db"), vec![b'x'; 4096]).unwrap();
    for (file, expected) in [
        ("missing.db", "does not exist"),
        ("junk.db", "file is not a database"),
    ] {
        let out = schemactl(dir.path())
            .args(["import", "-d", file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(file) && stderr.contains(expected),
            "{stderr}"
        );
    }
    assert!(
        !dir.path().join("missing.db").exists(),
        "import must not create a database"
    );
}

#[test]
fn a_table_kept_verbatim_is_reported_on_stderr() {
    let dir = common::temp_dir();
    let db = common::db_from_ddl(
        dir.path(),
        "v.db",
        "CREATE TABLE t (a INTEGER PRIMARY KEY ON CONFLICT REPLACE);",
    );
    let out = schemactl(dir.path())
        .args(["import", "-d"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("warning: table \"t\" kept verbatim: not representable: ON CONFLICT clause"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("sql: \"CREATE TABLE t (a INTEGER PRIMARY KEY ON CONFLICT REPLACE)\"")
    );
}

#[test]
fn json_schema_names_the_same_keys_as_the_loader() {
    let dir = common::temp_dir();
    let out = schemactl(dir.path())
        .args(["schema", "json-schema"])
        .output()
        .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    // The loader lists the keys it accepts when it meets an unknown one.
    let accepted = |yaml: &str| -> Vec<String> {
        let Err(schemactl::Error::Source(e)) = dsl::load_str("s.yaml", yaml) else {
            panic!("accepted {yaml}")
        };
        let msg = e[0].message.clone();
        let list = msg.split("expected one of ").nth(1).expect(&msg);
        let mut k: Vec<String> = list
            .split(", ")
            .map(|s| s.trim_matches('`').to_string())
            .collect();
        k.sort();
        k
    };
    let table = &schema["properties"]["tables"]["additionalProperties"];
    assert_eq!(keys(&schema), accepted("schemactl: 1\nzzz: 1\n"));
    assert_eq!(
        keys(table),
        accepted("schemactl: 1\ntables:\n  t:\n    zzz: 1\n")
    );
    assert_eq!(
        keys(&table["properties"]["columns"]["additionalProperties"]),
        accepted("schemactl: 1\ntables:\n  t:\n    columns:\n      c: { zzz: 1 }\n")
    );
    assert_eq!(
        keys(&table["properties"]["indexes"]["additionalProperties"]),
        accepted("schemactl: 1\ntables:\n  t:\n    indexes:\n      i: { zzz: 1 }\n")
    );
    assert_eq!(
        keys(&table["properties"]["foreign_keys"]["items"]),
        accepted("schemactl: 1\ntables:\n  t:\n    foreign_keys:\n      - { zzz: 1 }\n")
    );
}

#[test]
fn completions_and_help_work() {
    let dir = common::temp_dir();
    let out = schemactl(dir.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("schemactl"));
    let subcommands: &[&[&str]] = &[
        &[],
        &["import"],
        &["plan"],
        &["apply"],
        &["sync"],
        &["rollback"],
        &["stash", "list"],
        &["stash", "drop"],
        &["status"],
        &["drift"],
        &["snapshot"],
        &["schema", "check"],
        &["schema", "sql"],
        &["schema", "json-schema"],
        &["completions"],
    ];
    for sub in subcommands {
        let out = schemactl(dir.path())
            .args(*sub)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\nExample"),
            "{sub:?} --help has no example"
        );
    }
}

#[test]
fn a_bad_command_line_exits_1_and_help_exits_0() {
    let dir = common::temp_dir();
    let out = schemactl(dir.path())
        .args(["plan", "--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'yaml'"));
    let out = schemactl(dir.path())
        .args(["no-such-command"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = schemactl(dir.path()).args(["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn import_keeps_constraint_names_so_later_changes_run_in_place() {
    let dir = common::temp_dir();
    let db = common::db_from_ddl(
        dir.path(),
        "named.db",
        "CREATE TABLE p (id INTEGER PRIMARY KEY);
         CREATE TABLE t (id INTEGER PRIMARY KEY,
           a INTEGER CONSTRAINT a_pos CHECK (a > 0),
           p_id INTEGER,
           CONSTRAINT t_p FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE,
           CONSTRAINT \"two words\" CHECK (a <> 7));",
    );
    let out = schemactl(dir.path())
        .args(["import", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    for name in ["a_pos", "t_p", "two words"] {
        assert!(yaml.contains(name), "{name} is kept:\n{yaml}");
    }
    let imported = dsl::load_str("imported.yaml", &yaml).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let live = schemactl::inspect(&conn).unwrap();
    assert_eq!(imported.schema, live);
    // The names make the drops native: remove the three constraints from the imported file.
    let mut desired = imported.schema.clone();
    let t = desired.tables.iter_mut().find(|t| t.name == "t").unwrap();
    t.checks.clear();
    t.foreign_keys.clear();
    t.columns.iter_mut().for_each(|c| c.checks.clear());
    let changes =
        schemactl::diff::diff(&live, &desired, &schemactl::dsl::Renames::default()).unwrap();
    let plan = schemactl::plan::plan(&live, &desired, &changes);
    let forward: Vec<&str> = plan
        .steps
        .iter()
        .flat_map(|s| s.forward.iter().map(String::as_str))
        .collect();
    assert_eq!(
        forward,
        vec![
            "ALTER TABLE t DROP CONSTRAINT a_pos",
            "ALTER TABLE t DROP CONSTRAINT \"two words\"",
            "ALTER TABLE t DROP CONSTRAINT t_p",
        ]
    );
}
