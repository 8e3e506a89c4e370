//! A message naming a path given with `.` or `..` names it as given and as resolved, so the
//! operator sees which file was meant (`app/../real/gone.db (that is /srv/real/gone.db)`).

mod common;

#[test]
fn a_path_with_dot_dot_is_named_as_given_and_resolved() {
    let dir = common::temp_dir();
    let p = dir.path();
    std::fs::create_dir_all(p.join("app")).unwrap();
    std::fs::create_dir_all(p.join("real")).unwrap();
    let err = common::fails_in(
        p,
        &[
            "restore",
            "--latest",
            "--database",
            "app/../real/gone.db",
            "--backups",
            "app/../real/b",
            "--yes",
        ],
        1,
    );
    let real = p.canonicalize().unwrap().join("real");
    let expected = format!(
        "no backup of app/../real/gone.db (that is {}) in app/../real/b (that is {})",
        real.join("gone.db").display(),
        real.join("b").display()
    );
    assert!(err.contains(&expected), "{err}");
}
