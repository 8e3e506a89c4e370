//! `check`'s `expired` class reads an `expires:` column holding ISO-8601 text, a Julian day
//! or Unix seconds (as a number or numeric text), and reports values that are not dates
//! (milliseconds, words, blobs) instead of taking them as "not expired" (h10_11). A property
//! over random times well before or after now, written in every accepted form.

mod common;

use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value;

/// How a time is written: 0 ISO with `T` and `Z`, 1 ISO with a space and an offset, 2 Unix
/// seconds INTEGER, 3 Unix seconds REAL, 4 Unix seconds as text, 5 Julian day REAL.
fn written(secs: i64, form: usize, offset_minutes: i32) -> Value {
    let utc = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
    match form {
        0 => Value::Text(
            utc.format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        ),
        1 => {
            let offset = time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap();
            let local = utc.to_offset(offset);
            let f = time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
            );
            Value::Text(local.format(&f).unwrap())
        }
        2 => Value::Integer(secs),
        3 => Value::Real(secs as f64 + 0.25),
        4 => Value::Text(secs.to_string()),
        _ => Value::Real(secs as f64 / 86400.0 + 2_440_587.5),
    }
}

/// Values that are not dates.
fn not_a_date(i: usize, secs: i64) -> Value {
    match i % 4 {
        0 => Value::Integer(secs * 1000),
        1 => Value::Text("soon".into()),
        2 => Value::Blob(vec![1, 2]),
        _ => Value::Text(String::new()),
    }
}

fn findings(dir: &std::path::Path) -> (u64, u64) {
    let out = common::schemactl(dir, &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", common::stdout(&out), common::stderr(&out)));
    let (mut expired, mut undated) = (0, 0);
    for f in v["findings"].as_array().unwrap() {
        if f["class"] == "expired" {
            let n = f["count"].as_u64().unwrap();
            if f["message"].as_str().unwrap().contains("not a date") {
                undated += n;
            } else {
                expired += n;
            }
        }
    }
    (expired, undated)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn expired_rows_are_counted_in_every_accepted_form(
        times in prop::collection::vec((any::<bool>(), 2i64 * 86_400..40 * 365 * 86_400, 0usize..6, -14i32 * 60..14 * 60), 0..12),
        junk in 0usize..5,
    ) {
        let dir = common::temp_dir();
        std::fs::create_dir_all(dir.path().join("schema")).unwrap();
        std::fs::write(dir.path().join("schemactl.toml"), "database = \"db.sqlite\"\n").unwrap();
        std::fs::write(
            dir.path().join("schema/s.yaml"),
            "schemactl: 1\nversion: 1\ntables:\n  s:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      until: { type: ANY }\n    expires: until\n",
        )
        .unwrap();
        let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        conn.execute_batch("CREATE TABLE s (id INTEGER PRIMARY KEY, until ANY); INSERT INTO s (until) VALUES (NULL)").unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut past = 0;
        for (in_past, delta, form, offset) in &times {
            let secs = if *in_past { now - delta } else { now + delta };
            past += u64::from(*in_past);
            conn.execute("INSERT INTO s (until) VALUES (?1)", [written(secs, *form, *offset)]).unwrap();
        }
        for i in 0..junk {
            conn.execute("INSERT INTO s (until) VALUES (?1)", [not_a_date(i, now)]).unwrap();
        }
        drop(conn);
        prop_assert_eq!(findings(dir.path()), (past, junk as u64));
    }
}

/// h10_11's shape: sessions in Unix seconds and milliseconds, tokens in ISO text and numeric
/// text, all in the past.
#[test]
fn unix_seconds_are_read_and_milliseconds_are_reported() {
    let dir = common::temp_dir();
    std::fs::create_dir_all(dir.path().join("schema")).unwrap();
    std::fs::write(
        dir.path().join("schema/s.yaml"),
        "schemactl: 1\nversion: 1\ntables:\n  sessions:\n    columns:\n      id: { type: INTEGER, primary_key: true }\n      expires_at: { type: INTEGER }\n    expires: expires_at\n",
    )
    .unwrap();
    Connection::open(dir.path().join("db.sqlite"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE sessions (id INTEGER PRIMARY KEY, expires_at INTEGER);
             INSERT INTO sessions VALUES (1, 1700000000), (2, 1700000000000), (3, 1000000000), (4, 4102444800);",
        )
        .unwrap();
    let out = common::schemactl(
        dir.path(),
        &[
            "check",
            "--database",
            "db.sqlite",
            "--schema",
            "schema",
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let text = common::stdout(&out);
    assert!(
        text.contains("2 row(s) of \"sessions\" expired (expires_at is in the past)"),
        "{text}"
    );
    assert!(
        text.contains("1 row(s) of \"sessions\" have a value in \"expires_at\" that is not a date"),
        "{text}"
    );
}
