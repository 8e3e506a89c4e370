//! What a migration's SQL says it does to the tables that exist before it, read from its
//! statements alone (never from the data they move): renames of tables and columns, added
//! and dropped columns, rebuilds (a new table filled from the old one, the old one dropped,
//! the new one renamed into its place), and the data changes a hand-written migration makes
//! on purpose (an `UPDATE` of an existing table's columns, rows inserted into or deleted from
//! an existing table, and what its triggers and foreign-key actions reach from there).
//!
//! The row-level proof ([`super`]) holds every table to what this description says, so the
//! description must never follow the SQL's data flow: a rebuild's copy that swaps two columns
//! is described as keeping both, and the proof finds the swap.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::tokenizer::Token;

use crate::sql::{Tok, lex, matching_paren};

mod follow;
mod read;
mod scratch;

use read::*;

/// What happened to one column name, in statement order.
#[derive(Debug, Clone)]
enum ColumnEvent {
    Rename {
        from: String,
        to: String,
    },
    /// Renames made at once by a rebuild's copy (a swap): `(from, to)` pairs.
    RenameAll(Vec<(String, String)>),
    Add(String),
    Drop(String),
    /// The migration writes this column's values itself (`UPDATE ... SET c`, or an
    /// `INSERT` column list into a table it created).
    Written(String),
    /// An `UPDATE` sets this column of a rebuild's new table after the copy (in the old
    /// table's place): a data change on purpose, not the copy.
    Set(String),
}

/// One table as the statements leave it.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Its name before the migrations, when it existed before them.
    pub origin: Option<String>,
    /// Its name now; None once dropped.
    pub current: Option<String>,
    /// The name it had last (when dropped, the name it was dropped under).
    pub last: String,
    /// Every name it had, in order (the name it was created or found under first).
    names: Vec<String>,
    events: Vec<ColumnEvent>,
    /// Every column of it is written by an `INSERT` without a column list.
    written_all: bool,
    /// Its rows may change on purpose (hand-written DML on a table that existed before).
    pub rows_changed: bool,
    /// The values of rows it keeps may change on purpose too (a REPLACE, an upsert, a
    /// trigger's or a foreign key action's write, SQL the description cannot read): no row of
    /// it can be held to its values.
    pub rows_rewritten: bool,
    /// The tables (indexes into [`Description::tables`]) an `INSERT` into it read from.
    filled_from: BTreeSet<usize>,
    /// An `INSERT` into it read a stash (`_schemactl_stash_*`): a rollback putting values back.
    from_stash: bool,
    /// The columns its `CREATE TABLE` defines, when the migrations created it with a column
    /// list: a column of no such name did not exist in it, so a column of that name after it
    /// is a new one, not the one of that name before (a rebuild that drops it, then another
    /// that brings it back from a stash).
    created: Option<Vec<String>>,
    /// A TEMP table: it can hold rows on their way back (a scratch copy), never their place
    /// at the end (it goes with the connection).
    temp: bool,
    /// A table the migrations created that SQL the description does not read wrote (a
    /// trigger's body, a statement it cannot describe): which, and why.
    unread: Option<String>,
    /// It holds rows of its own (not copied in from a table the description follows): None
    /// for a table that existed before, until the migrations empty or fill it.
    held: Option<bool>,
    /// Rows were copied into it while it held rows of its own ([`Description::fill`]).
    mixed: bool,
}

/// Where a column of the table after the migrations comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The column of this name before the migrations.
    Kept(String),
    /// A new column, which must hold its default.
    Added,
    /// A column whose values the migration writes on purpose: not proven.
    Written,
}

/// The description of a batch of migrations.
#[derive(Debug, Clone, Default)]
pub struct Description {
    /// Every table the statements know: those that existed before (first, in the order
    /// given), then those they create.
    pub tables: Vec<Tracked>,
    /// Every word of every statement, lowercased: a table not named here is not touched by
    /// the statements themselves.
    pub named: BTreeSet<String>,
    /// The statements it cannot describe (their first words), in order.
    pub undescribed: Vec<String>,
    /// The views the migrations create (lowercase name), with the names their query reads
    /// (as the table renames since then left them).
    views: BTreeMap<String, Vec<String>>,
    /// The table renames made so far, (from, to) lowercased, in order: SQLite renames the
    /// tables a view reads with them.
    renames: Vec<(String, String)>,
}

/// Triggers and foreign keys of the database before the migrations, for the data changes
/// that reach beyond the table a statement names.
pub trait Reach {
    /// Returns the tables the triggers on `table` name, and the tables whose foreign keys
    /// reference it (their actions may change them).
    fn reached_from(&self, table: &str) -> Vec<String>;

    /// Returns the tables the bodies of the triggers on `table` (a table or a view) write.
    fn trigger_writes(&self, _table: &str) -> Vec<String> {
        Vec::new()
    }

    /// Returns the names the query of the view `name` reads, when the database has such a view
    /// before the migrations.
    fn view_reads(&self, _name: &str) -> Option<Vec<String>> {
        None
    }

    /// Returns true when the table `table` holds rows before the migrations (true when it
    /// cannot tell: a table that may hold rows is never followed as a scratch copy).
    fn holds_rows(&self, _table: &str) -> bool {
        true
    }
}

impl Description {
    /// Describes `sql` (the pending migrations, in order) against the tables `before`.
    pub fn new(before: &[String], sql: &[&str], reach: &dyn Reach) -> Self {
        let mut d = Description {
            tables: before
                .iter()
                .map(|name| Tracked {
                    origin: Some(name.clone()),
                    current: Some(name.clone()),
                    last: name.clone(),
                    names: vec![name.clone()],
                    events: Vec::new(),
                    written_all: false,
                    rows_changed: false,
                    rows_rewritten: false,
                    filled_from: BTreeSet::new(),
                    from_stash: false,
                    created: None,
                    temp: false,
                    unread: None,
                    held: None,
                    mixed: false,
                })
                .collect(),
            ..Description::default()
        };
        for text in sql {
            let Ok(tokens) = lex(text) else {
                d.undescribed.push("(SQL that does not lex)".into());
                d.named
                    .extend(before.iter().map(|b| b.to_ascii_lowercase()));
                continue;
            };
            let reverse = text
                .lines()
                .any(|l| l.starts_with("-- schemactl migration (reverse)"));
            let headers = step_headers(text, &tokens);
            let mut applied = None;
            for st in statements(&tokens) {
                // The step header above this statement, if it is a rebuild's and not yet read.
                let start = st.first().map_or(0, |t| t.start);
                let header = headers.iter().rev().find(|(at, _)| *at < start);
                if let Some(&(at, h)) = header
                    && applied != Some(at)
                {
                    applied = Some(at);
                    if let Some((table, renames)) = rebuild_renames(h, reverse)
                        && let Some(t) = d.alive(&table)
                    {
                        d.tables[t].events.push(ColumnEvent::RenameAll(renames));
                    }
                }
                d.named.extend(
                    st.iter()
                        .filter_map(|t| t.name())
                        .map(str::to_ascii_lowercase),
                );
                d.statement(st, reach);
            }
        }
        d
    }

    /// Finds the table alive under `name`.
    fn alive(&self, name: &str) -> Option<usize> {
        self.tables.iter().rposition(|t| {
            t.current
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(name))
        })
    }

    /// Marks the rows of the table `name` (and of what its triggers and foreign keys reach)
    /// as changed on purpose.
    /// `rewrites`: the statement may change the values of rows it keeps (a REPLACE, an upsert);
    /// what triggers and foreign keys reach always may.
    fn rows_change(&mut self, name: &str, rewrites: bool, reach: &dyn Reach) {
        let mut work = vec![(name.to_string(), rewrites)];
        let mut seen = BTreeSet::new();
        while let Some((n, rewrites)) = work.pop() {
            let alive = self.alive(&n);
            let replaced = alive.and_then(|i| self.replaces(i));
            for i in alive.into_iter().chain(replaced) {
                self.tables[i].rows_changed = true;
                self.tables[i].rows_rewritten |= rewrites;
            }
            if !seen.insert(n.to_ascii_lowercase()) {
                continue;
            }
            for i in alive.into_iter().chain(replaced) {
                if let Some(origin) = self.tables[i].origin.clone() {
                    work.extend(reach.reached_from(&origin).into_iter().map(|r| (r, true)));
                }
            }
            work.extend(reach.reached_from(&n).into_iter().map(|r| (r, true)));
        }
    }

    fn statement(&mut self, st: &[Tok], reach: &dyn Reach) {
        // EXPLAIN only compiles the statement: nothing of it runs (h26_07).
        if st.first().is_some_and(|t| t.is_kw("EXPLAIN")) {
            return;
        }
        if st.first().is_some_and(|t| t.is_kw("WITH")) {
            self.with(st, reach);
        } else {
            self.statement_after(st, &[], reach);
        }
    }

    /// Describes `st`, run after the CTEs `cte` (a `WITH` prefix; empty without one): what an
    /// `INSERT` fills from includes what they read.
    fn statement_after(&mut self, st: &[Tok], cte: &[Tok], reach: &dyn Reach) {
        let Some(first) = st.first() else { return };
        let kw = |i: usize, k: &str| st.get(i).is_some_and(|t| t.is_kw(k));
        if first.is_kw("CREATE") {
            let mut i = 1;
            let mut temp = false;
            while kw(i, "TEMP") || kw(i, "TEMPORARY") || kw(i, "UNIQUE") || kw(i, "VIRTUAL") {
                temp |= kw(i, "TEMP") || kw(i, "TEMPORARY");
                i += 1;
            }
            if kw(i, "VIEW") {
                self.create_view(st, i + 1);
                return;
            }
            if !kw(i, "TABLE") {
                return; // index, trigger: no rows change
            }
            i += 1;
            if kw(i, "IF") {
                i += 3;
            }
            if let Some((schema, name, next)) = name_at(st, i) {
                // `CREATE TABLE x AS SELECT ...`: a copy of the tables the query reads, every
                // column written by it (a scratch copy a hand-written rebuild copies back).
                let as_select = kw(next, "AS");
                let filled_from: BTreeSet<usize> = if as_select {
                    self.sources(st[next..].iter(), None, reach)
                        .into_iter()
                        .collect()
                } else {
                    BTreeSet::new()
                };
                // A query reading no table it knows fills it with rows of its own.
                let held = as_select && filled_from.is_empty();
                self.tables.push(Tracked {
                    origin: None,
                    current: Some(name.clone()),
                    last: name.clone(),
                    names: vec![name],
                    events: Vec::new(),
                    written_all: as_select,
                    rows_changed: false,
                    rows_rewritten: false,
                    filled_from,
                    from_stash: false,
                    created: defined_columns(st, next),
                    temp: temp || schema.is_some_and(|s| s.eq_ignore_ascii_case("temp")),
                    unread: None,
                    held: Some(held),
                    mixed: false,
                });
            }
        } else if first.is_kw("DROP") {
            if !kw(1, "TABLE") {
                return;
            }
            let i = if kw(2, "IF") { 4 } else { 2 };
            if let Some((_, name, _)) = name_at(st, i)
                && let Some(t) = self.alive(&name)
            {
                self.tables[t].last = name;
                self.tables[t].current = None;
            }
        } else if first.is_kw("ALTER") {
            self.alter(st);
        } else if first.is_kw("INSERT") || first.is_kw("REPLACE") {
            let Some(into) = st.iter().position(|t| t.is_kw("INTO")) else {
                self.undescribed(st, reach);
                return;
            };
            let Some((_, name, next)) = name_at(st, into + 1) else {
                self.undescribed(st, reach);
                return;
            };
            // Its triggers (a view's INSTEAD OF among them) write what the proof does not read.
            self.fire(&name, reach);
            let Some(t) = self.alive(&name) else {
                return; // sqlite_sequence, a stash, a view, a table the proof does not know
            };
            let from_stash = st.iter().chain(cte).any(|tok| {
                tok.name().is_some_and(|w| {
                    w.to_ascii_lowercase()
                        .starts_with(crate::plan::STASH_PREFIX)
                })
            });
            if self.tables[t].origin.is_some() || (self.replaces(t).is_some() && !from_stash) {
                if self.tables[t].origin.is_some() {
                    // A table that existed before can carry rows back too (scratch.rs).
                    let rest = match st.get(next) {
                        Some(tok) if tok.token == Token::LParen => {
                            matching_paren(st, next).map_or(st.len(), |close| close + 1)
                        }
                        _ => next,
                    };
                    let read = st[rest.min(st.len())..].iter().chain(cte);
                    let sources = self.sources(read, Some(t), reach);
                    self.fill(t, sources, from_stash, reach);
                }
                // A REPLACE or an upsert may rewrite the rows it keeps.
                let rewrites = first.is_kw("REPLACE")
                    || st.windows(2).any(|w| {
                        (w[0].is_kw("OR") && w[1].is_kw("REPLACE"))
                            || (w[0].is_kw("DO") && w[1].is_kw("UPDATE"))
                    });
                self.rows_change(&name, rewrites, reach);
                return;
            }
            // A table the migrations created: this is the copy of a rebuild (or its fill).
            let mut rest = next;
            if st.get(next).is_some_and(|t| t.token == Token::LParen) {
                let close = matching_paren(st, next).unwrap_or(st.len() - 1);
                for tok in &st[next + 1..close] {
                    if let Some(w) = tok.name() {
                        self.tables[t]
                            .events
                            .push(ColumnEvent::Written(w.to_string()));
                    }
                }
                rest = close + 1;
            } else {
                self.tables[t].written_all = true;
            }
            let read = st[rest.min(st.len())..].iter().chain(cte);
            let sources = self.sources(read, Some(t), reach);
            self.fill(t, sources, from_stash, reach);
            if from_stash {
                self.tables[t].from_stash = true;
            }
        } else if first.is_kw("UPDATE") {
            let mut i = 1;
            if kw(i, "OR") {
                i += 2;
            }
            let Some((_, name, next)) = name_at(st, i) else {
                self.undescribed(st, reach);
                return;
            };
            self.fire(&name, reach);
            let Some(t) = self.alive(&name) else { return };
            // A rollback stash put back on re-apply: the stash answers for those values.
            let from_stash = st.iter().chain(cte).any(|tok| {
                tok.name().is_some_and(|w| {
                    w.to_ascii_lowercase()
                        .starts_with(crate::plan::STASH_PREFIX)
                })
            });
            let on_purpose = !from_stash && self.replaces(t).is_some();
            if self.tables[t].origin.is_none() {
                // A table the migrations created takes values from what its SET reads: a
                // fill, as an INSERT's (a copy back by UPDATE is followed as one).
                let read = st[next.min(st.len())..].iter().chain(cte);
                let sources = self.sources(read, Some(t), reach);
                self.tables[t].filled_from.extend(sources);
            }
            for column in set_columns(st, next) {
                self.tables[t].events.push(if on_purpose {
                    ColumnEvent::Set(column)
                } else {
                    ColumnEvent::Written(column)
                });
            }
            if from_stash {
                self.tables[t].from_stash = true;
            }
            if self.tables[t].origin.is_some() {
                // Its triggers and foreign-key actions may change other tables; its own rows
                // keep their identity and their other columns.
                let reached: Vec<String> = reach.reached_from(&name);
                for r in reached {
                    self.rows_change(&r, true, reach);
                }
            }
        } else if first.is_kw("DELETE") {
            let Some((_, name, _)) = name_at(st, 2) else {
                self.undescribed(st, reach);
                return;
            };
            self.fire(&name, reach);
            let Some(t) = self.alive(&name) else { return };
            if !st.iter().any(|tok| tok.is_kw("WHERE")) {
                self.emptied(t);
            }
            if self.tables[t].origin.is_some() || self.replaces(t).is_some() {
                self.rows_change(&name, false, reach);
            }
        } else if ["PRAGMA", "SELECT", "ANALYZE", "REINDEX"]
            .iter()
            .any(|k| first.is_kw(k))
        {
            // No rows change.
        } else {
            self.undescribed(st, reach);
        }
    }

    /// A statement the proof cannot describe: every table it names may change.
    fn undescribed(&mut self, st: &[Tok], reach: &dyn Reach) {
        self.undescribed.push(
            st.iter()
                .take(3)
                .map(|t| t.token.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        );
        let words: Vec<String> = st
            .iter()
            .filter_map(|t| t.name())
            .map(String::from)
            .collect();
        let why = format!(
            "SQL the proof cannot read names it ({})",
            self.undescribed.last().map_or("", String::as_str)
        );
        for w in words {
            if self.alive(&w).is_some() {
                self.unread(&w, &why);
                self.rows_change(&w, true, reach);
            }
            self.fire(&w, reach);
        }
    }

    fn alter(&mut self, st: &[Tok]) {
        let kw = |i: usize, k: &str| st.get(i).is_some_and(|t| t.is_kw(k));
        let Some((_, name, i)) = name_at(st, 2) else {
            return;
        };
        let Some(t) = self.alive(&name) else { return };
        let table = name;
        let name = |i: usize| st.get(i).and_then(|t| t.name()).map(String::from);
        if kw(i, "RENAME") && kw(i + 1, "TO") {
            if let Some(to) = name(i + 2) {
                self.renamed(&table, &to);
                self.tables[t].current = Some(to.clone());
                self.tables[t].last = to.clone();
                self.tables[t].names.push(to);
            }
        } else if kw(i, "RENAME") {
            let j = if kw(i + 1, "COLUMN") { i + 2 } else { i + 1 };
            if let (Some(from), Some(to)) = (name(j), name(j + 2)) {
                self.tables[t].events.push(ColumnEvent::Rename { from, to });
            }
        } else if kw(i, "ADD") {
            let j = if kw(i + 1, "COLUMN") { i + 2 } else { i + 1 };
            if let Some(c) = name(j) {
                self.tables[t].events.push(ColumnEvent::Add(c));
            }
        } else if kw(i, "DROP") {
            let j = if kw(i + 1, "COLUMN") { i + 2 } else { i + 1 };
            if let Some(c) = name(j) {
                self.tables[t].events.push(ColumnEvent::Drop(c));
            }
        }
    }

    /// Returns the table after the migrations that holds the rows of `before` (an index into
    /// [`Description::tables`] of a table that existed before), with its name: the same table
    /// (perhaps renamed), or the last of the tables that took its place in turn (see
    /// [`Description::chain`]), under the name it ends with.
    pub fn successor(&self, before: usize) -> Option<(usize, &str)> {
        let last = *self.chain(before)?.last()?;
        Some((last, self.tables.get(last)?.current.as_deref()?))
    }

    /// The tables that hold the rows of `before` in turn: `before` itself, then each table
    /// that took the place of the one before it ([`Description::takes_place_of`]: a rebuild,
    /// renamed into its place and perhaps renamed again, or rebuilt again), up to one alive
    /// at the end. None when the rows end in no table the description can follow.
    pub fn chain(&self, before: usize) -> Option<Vec<usize>> {
        let mut chain = vec![before];
        let mut at = before;
        while self.tables.get(at)?.current.is_none() {
            // Only a table created later can take the place of one: the chain always ends.
            let (n, scratch) =
                (at + 1..self.tables.len()).find_map(|n| Some((n, self.via(n, at)?)))?;
            chain.extend(scratch);
            chain.push(n);
            at = n;
        }
        Some(chain)
    }

    /// The tables the rows of `b` go through on their way into `t`, when `t` takes `b`'s
    /// place: none when it does directly ([`Description::takes_place_of`]), or the scratch
    /// copies it was filled through, oldest first, when `t` has had a name `b` had: the
    /// hand-written "copy out, drop, create anew, copy back" rebuild, over any number of
    /// scratch tables (each created by the migrations, in main or TEMP, or one that existed
    /// before them, filled from the one before it, or created `AS SELECT` from it, the first
    /// from `b`; none holding rows of its own beside them: see scratch.rs).
    fn via(&self, t: usize, b: usize) -> Option<Vec<usize>> {
        if self.takes_place_of(t, b) {
            return Some(Vec::new());
        }
        let (new, old) = (self.tables.get(t)?, self.tables.get(b)?);
        if new.origin.is_some() || new.temp || !shares_a_name(new, old) {
            return None;
        }
        self.scratch_path(t, b)
    }

    /// True when the table `t`, created by the migrations, takes the place of the table `b`:
    /// it was filled from `b` and has had a name `b` had (a rebuild's new table renamed into
    /// `b`'s name, or created under the name `b` was renamed away from). A table filled from
    /// another under a name of its own (a split, a copy) takes no place: the proof names the
    /// table it was filled from as not proven.
    fn takes_place_of(&self, t: usize, b: usize) -> bool {
        let (Some(new), Some(old)) = (self.tables.get(t), self.tables.get(b)) else {
            return false;
        };
        new.origin.is_none() && !new.temp && new.filled_from.contains(&b) && shares_a_name(new, old)
    }

    /// The name of a table alive at the end that was filled from `before` (dropped, with no
    /// table taking its place), directly or through any number of tables filled in turn from
    /// one another (scratch copies dropped on the way): where its rows went, for the proof to
    /// name it as not proven. A rollback stash is not one: a table dropped into its stash is
    /// the destructive gate's.
    pub fn copied_into(&self, before: usize) -> Option<&str> {
        let reached = self.filled_through(before);
        self.tables
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != before && reached.contains(i))
            .filter_map(|(_, t)| t.current.as_deref())
            .find(|n| {
                !n.to_ascii_lowercase()
                    .starts_with(crate::plan::STASH_PREFIX)
            })
    }

    /// The tables filled from `from`, and those filled from them, to any depth (`from`
    /// itself among them).
    fn filled_through(&self, from: usize) -> BTreeSet<usize> {
        let mut reached = BTreeSet::from([from]);
        loop {
            let more: Vec<usize> = self
                .tables
                .iter()
                .enumerate()
                .filter(|(i, t)| {
                    !reached.contains(i) && t.filled_from.iter().any(|f| reached.contains(f))
                })
                .map(|(i, _)| i)
                .collect();
            if more.is_empty() {
                return reached;
            }
            reached.extend(more);
        }
    }

    /// The tables `t` was filled from, and those they were filled from, to any depth.
    fn filled_back(&self, t: usize) -> BTreeSet<usize> {
        let mut reached = BTreeSet::new();
        let mut work = vec![t];
        while let Some(at) = work.pop() {
            if let Some(n) = self.tables.get(at) {
                for &f in &n.filled_from {
                    if reached.insert(f) {
                        work.push(f);
                    }
                }
            }
        }
        reached
    }

    /// Returns the table that existed before whose rows the table `t` holds, when `t` is a
    /// rebuild's new table already in its place (a statement on it now is not the rebuild's
    /// copy, but a data change on purpose), through every rebuild in between.
    fn replaces(&self, t: usize) -> Option<usize> {
        let mut at = t;
        self.tables.get(t)?.current.as_ref()?;
        loop {
            if self.tables.get(at)?.origin.is_some() {
                return (at != t).then_some(at);
            }
            // What it was filled from, through any number of scratch copies.
            at = self
                .filled_back(at)
                .into_iter()
                .filter(|&b| b < at && self.tables[b].current.is_none())
                .find(|&b| self.via(at, b).is_some())?;
        }
    }

    /// The tables after `before` in its chain ([`Description::chain`]) up to `after`, newest
    /// first: the rebuilds whose statements a column of `after` went through.
    fn links(&self, before: usize, after: usize) -> Vec<usize> {
        let chain = self.chain(before).unwrap_or_else(|| vec![before, after]);
        let end = chain
            .iter()
            .position(|&t| t == after)
            .unwrap_or(chain.len() - 1);
        chain[1..=end].iter().rev().copied().collect()
    }

    /// Returns where the column `column` of table `after` (the successor of `before`)
    /// comes from. [`Source::Kept`] names the column before; the caller treats a name the
    /// table did not have as [`Source::Added`].
    pub fn source(&self, before: usize, after: usize, column: &str) -> Source {
        let mut name = column.to_string();
        // Through each rebuild, newest first: the new table's history, then the copy by name.
        // A column the copy (or an UPDATE) writes is still held to the old one of its name:
        // that is what the copy of a rebuild must do.
        for t in self.links(before, after) {
            let t = &self.tables[t];
            if set_after_copy(t, &name) {
                return Source::Written;
            }
            let mut probe = name.clone();
            match walk_back(t, &mut probe) {
                Walk::Added => return Source::Added,
                // A column the new table never had: the old one of its name ended here.
                Walk::Through if !defines(t, &probe) => return Source::Added,
                // Added to the new table after the copy (an older reverse bringing back a
                // column a newer one dropped), then written: not the old column.
                Walk::Written if added_after_copy(t, &name) => {
                    return Source::Written;
                }
                _ => name = probe,
            }
        }
        match walk_back(&self.tables[before], &mut name) {
            Walk::Through => Source::Kept(name),
            Walk::Added => Source::Added,
            Walk::Written => Source::Written,
        }
    }

    /// Returns true when a table of the chain from `before` to `after` was filled from a
    /// stash (a rollback putting back the values its migration replaced).
    pub fn filled_from_stash(&self, before: usize, after: usize) -> bool {
        self.tables.get(after).is_some_and(|t| t.from_stash)
            || self
                .links(before, after)
                .into_iter()
                .any(|t| self.tables[t].from_stash)
    }

    /// Returns true when the migrations write column `column` of `after` themselves, where
    /// it is a new column (filled by the copy of a rebuild, or by an `UPDATE`).
    pub fn fills_new_column(&self, before: usize, after: usize, column: &str) -> bool {
        let mut name = column.to_string();
        for t in self.links(before, after) {
            let t = &self.tables[t];
            if t.written_all || matches!(walk_back(t, &mut name), Walk::Written) {
                return true;
            }
        }
        matches!(walk_back(&self.tables[before], &mut name), Walk::Written)
    }
}

/// True when `new` has had a name `old` had.
fn shares_a_name(new: &Tracked, old: &Tracked) -> bool {
    new.names
        .iter()
        .any(|n| old.names.iter().any(|o| o.eq_ignore_ascii_case(n)))
}

/// True when `column` (by its name when `t` was created) is one of `t`'s columns then: any
/// column of a table the migrations did not create with a column list.
fn defines(t: &Tracked, column: &str) -> bool {
    t.created
        .as_ref()
        .is_none_or(|cols| cols.iter().any(|c| c.eq_ignore_ascii_case(column)))
}

/// True when an `UPDATE` sets `column` of `t` (by its name at the end) after the copy of its
/// rebuild ([`ColumnEvent::Set`]).
fn set_after_copy(t: &Tracked, column: &str) -> bool {
    back_through_renames(t, &mut column.to_string(), |e, name| match e {
        ColumnEvent::Set(c) if c.eq_ignore_ascii_case(name) => Some(true),
        ColumnEvent::Add(c) | ColumnEvent::Drop(c) if c.eq_ignore_ascii_case(name) => Some(false),
        _ => None,
    })
    .unwrap_or(false)
}

enum Walk {
    /// Reached the start under this (possibly older) name.
    Through,
    /// Added (or re-added after a drop) by the migrations.
    Added,
    /// Written by the migrations.
    Written,
}

/// True when `column` of `t` (by its name at the end) was added to `t` itself (an `ADD
/// COLUMN`, not the copy of a rebuild).
fn added_after_copy(t: &Tracked, column: &str) -> bool {
    back_through_renames(t, &mut column.to_string(), |e, name| match e {
        ColumnEvent::Add(c) if c.eq_ignore_ascii_case(name) => Some(true),
        ColumnEvent::Drop(c) if c.eq_ignore_ascii_case(name) => Some(false),
        _ => None,
    })
    .unwrap_or(false)
}

/// Follows `name` back through the table's column events to the name it had at the start.
fn walk_back(t: &Tracked, name: &mut String) -> Walk {
    let mut written = false;
    let ended = back_through_renames(t, name, |e, name| match e {
        ColumnEvent::Add(c) | ColumnEvent::Drop(c) if c.eq_ignore_ascii_case(name) => Some(()),
        ColumnEvent::Written(c) | ColumnEvent::Set(c) if c.eq_ignore_ascii_case(name) => {
            written = true;
            None
        }
        _ => None,
    });
    match (ended, written) {
        (_, true) => Walk::Written,
        (Some(()), false) => Walk::Added,
        (None, false) => Walk::Through,
    }
}

/// Walks `t`'s column events from the newest back, following `name` through its renames (it
/// ends as the name the column had at the start), and returns the first answer `at` gives for
/// another event, with the name the column has there; None when none answers.
fn back_through_renames<T>(
    t: &Tracked,
    name: &mut String,
    mut at: impl FnMut(&ColumnEvent, &str) -> Option<T>,
) -> Option<T> {
    for e in t.events.iter().rev() {
        match e {
            ColumnEvent::Rename { from, to } if to.eq_ignore_ascii_case(name) => {
                *name = from.clone();
            }
            ColumnEvent::RenameAll(pairs) => {
                if let Some((from, _)) = pairs.iter().find(|(_, to)| to.eq_ignore_ascii_case(name))
                {
                    *name = from.clone();
                }
            }
            _ => {
                if let Some(answer) = at(e, name) {
                    return Some(answer);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
