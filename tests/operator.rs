//! Issue 20, the operator's day: messages that point at the place, as processes on real files.

mod common;

use std::path::Path;
use std::process::Output;

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_schemactl"))
        .args(args)
        .current_dir(dir)
        .env_remove("SCHEMACTL_DATABASE")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Restoring into a directory that does not exist names the directory (not a lock file that
/// cannot be opened), exits 1, and creates nothing.
#[test]
fn restoring_into_a_missing_directory_names_the_directory() {
    let p = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
    let out = run(p.path(), &["apply", "--yes", "--skip-backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(p.path(), &["backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = run(p.path(), &["backup", "list", "--format", "json"]);
    let backups: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let file = backups[0]["path"]
        .as_str()
        .or_else(|| backups[0]["file"].as_str())
        .unwrap_or_else(|| panic!("{backups}"))
        .to_string();
    let file = p.path().join(file);
    let target = p.path().join("nowhere/deeper/memory.db");
    let out = run(
        p.path(),
        &[
            "restore",
            file.to_str().unwrap(),
            "--database",
            target.to_str().unwrap(),
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "directory {} does not exist",
            p.path().join("nowhere/deeper").display()
        )),
        "{err}"
    );
    assert!(!err.contains("lock file"), "{err}");
    assert!(!p.path().join("nowhere").exists());
}

/// `import --out` onto an existing file names the file and says it is never overwritten.
#[test]
fn import_onto_an_existing_file_names_it() {
    let dir = common::temp_dir();
    let db = common::db_from_ddl(dir.path(), "m.db", "CREATE TABLE t (a);");
    let out_file = dir.path().join("taken.yaml");
    std::fs::write(&out_file, "mine").unwrap();
    let out = run(
        dir.path(),
        &[
            "import",
            "--database",
            db.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("--out {}: the file exists", out_file.display())),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "mine");
}

/// Issue 20, point 3: `stats` shows sizes for people (KiB/MiB/GiB) in aligned columns, and
/// exact bytes in JSON and Prometheus.
#[test]
fn stats_shows_human_sizes_aligned_and_exact_bytes_in_json() {
    let p = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
    let out = run(p.path(), &["apply", "--yes", "--skip-backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = p.path().join("memory.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
         INSERT INTO metrics_log (metric_name, metric_value, timestamp)
           SELECT 'm' || i, i, hex(randomblob(200)) FROM n;",
    )
    .unwrap();
    drop(conn);
    let file_bytes = std::fs::metadata(&db).unwrap().len();

    let out = run(p.path(), &["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let file_line = text.lines().nth(1).unwrap();
    assert!(
        file_line.contains(&format!(
            "file {},",
            schemactl::ops::stats::human_size(file_bytes)
        )) && file_line.contains("KiB"),
        "{text}"
    );
    assert!(
        !text.contains(&file_bytes.to_string()),
        "no raw byte count: {text}"
    );
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("object"))
        .collect();
    let header = table[0];
    let size_end = header.find("size").unwrap() + "size".len();
    let kind_at = header.find("kind").unwrap();
    assert!(table.len() > 10, "{text}");
    for line in &table[1..] {
        // Names and kinds start in their columns; sizes end where the header's does.
        assert_eq!(
            line.char_indices().nth(kind_at - 1).map(|(_, c)| c),
            Some(' '),
            "{line}"
        );
        assert!(
            line[kind_at..].starts_with("table") || line[kind_at..].starts_with("index"),
            "{text}"
        );
        let size = &line[..size_end];
        assert!(
            size.ends_with(" B") || size.ends_with("KiB") || size.ends_with("MiB"),
            "{line}\n{text}"
        );
    }
    let metrics = table
        .iter()
        .find(|l| l.trim_start().starts_with("metrics_log "))
        .unwrap();
    assert!(metrics.trim_end().ends_with(" 400"), "{metrics}");

    // JSON and Prometheus: exact bytes.
    let out = run(p.path(), &["stats", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["file_bytes"], file_bytes);
    let out = run(p.path(), &["stats", "--format", "prometheus"]);
    let prom = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(prom.contains(&format!(" {file_bytes}\n")), "{prom}");
}

fn lines(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{}", stderr(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Issue 20, point 6: completion knows the project: migration versions and names for
/// `rollback` (and `--to`), stashed versions for `stash drop`, backup files for `restore`,
/// through the hook bash, zsh and fish get; bash's hook is run for real.
#[test]
fn completions_offer_the_projects_migrations_stashes_and_backups() {
    let p = common::project_dir("database = \"memory.db\"\nbackups = \"backups\"\n");
    std::fs::write(
        p.path().join("migrations/V4__notes.sql"),
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n",
    )
    .unwrap();
    std::fs::write(
        p.path().join("rollbacks/V4__notes.sql"),
        "DROP TABLE notes;\n",
    )
    .unwrap();
    assert!(run(p.path(), &["apply", "--yes"]).status.success());
    // No stash yet; then rolling back V4 over a row keeps it in V4's stash.
    assert_eq!(
        lines(&run(p.path(), &["complete-values", "stashes"])),
        Vec::<String>::new()
    );
    rusqlite::Connection::open(p.path().join("memory.db"))
        .unwrap()
        .execute("INSERT INTO notes (body) VALUES ('kept')", [])
        .unwrap();
    let out = run(
        p.path(),
        &["rollback", "V4", "--yes", "--allow-destructive"],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let migrations = lines(&run(p.path(), &["complete-values", "migrations"]));
    assert_eq!(
        migrations,
        [
            "last",
            "V4",
            "V4__notes",
            "V3",
            "V3__add_trajectory_type_index",
            "V2",
            "V2__add_pattern_category",
            "V1",
            "V1__initial_memory_schema"
        ]
    );
    assert_eq!(
        lines(&run(p.path(), &["complete-values", "stashes"])),
        ["V4"]
    );
    let backups = lines(&run(p.path(), &["complete-values", "backups"]));
    // Every backup has its manifest: exactly those files are offered.
    let mut on_disk: Vec<String> = std::fs::read_dir(p.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .map(|n| p.path().join("backups").join(n).display().to_string())
        .collect();
    on_disk.sort();
    on_disk.reverse();
    assert_eq!(on_disk.len(), 2, "pre-apply and pre-rollback: {on_disk:?}");
    assert_eq!(backups, on_disk);
    // A project that cannot be read completes nothing, quietly.
    let empty = common::temp_dir();
    let out = run(
        empty.path(),
        &[
            "complete-values",
            "stashes",
            "--database",
            "/nonexistent/x.db",
        ],
    );
    assert_eq!(lines(&out), Vec::<String>::new());
    assert!(out.stderr.is_empty());

    // Each shell's script carries the hook.
    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(run(p.path(), &["completions", shell]).stdout).unwrap();
        assert!(script.contains("schemactl complete-values"), "{shell}");
        assert!(
            script.contains("migrations")
                && script.contains("stashes")
                && script.contains("backups"),
            "{shell}"
        );
    }
    // bash, for real: the hook completes what the user typed.
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_schemactl"))
        .parent()
        .unwrap();
    let script = p.path().join("completion.bash");
    std::fs::write(&script, run(p.path(), &["completions", "bash"]).stdout).unwrap();
    let complete = |words: &str, cword: usize| -> Vec<String> {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; _schemactl_values schemactl; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .current_dir(p.path())
            .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
            .env_remove("SCHEMACTL_DATABASE")
            .output()
            .unwrap();
        lines(&out).into_iter().filter(|l| !l.is_empty()).collect()
    };
    assert_eq!(
        complete("schemactl rollback V3", 2),
        ["V3", "V3__add_trajectory_type_index"]
    );
    assert_eq!(
        complete("schemactl rollback --to V1", 3),
        ["V1", "V1__initial_memory_schema"]
    );
    assert_eq!(complete("schemactl stash drop ''", 3), ["V4"]);
    assert_eq!(complete("schemactl restore ''", 2), backups);
}
