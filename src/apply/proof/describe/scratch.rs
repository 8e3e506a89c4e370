//! The tables rows can pass through on their way back into a rebuilt table (a scratch copy):
//! any table a statement fills from another, whether the migrations created it or it existed
//! before them (`INSERT INTO old_t SELECT * FROM a; DROP TABLE a; CREATE TABLE a (...);
//! INSERT INTO a SELECT ... FROM old_t`). Such a table is followed only while the rows copied
//! into it are the only rows it holds: one that holds rows of its own beside them (rows it
//! held before the migrations and kept, rows inserted from values, rows written by SQL the
//! description cannot read) is [`Tracked::mixed`], and a dropped table whose rows went back
//! only through it is refused, never taken as only dropped.

use std::collections::{BTreeMap, VecDeque};

use super::{Description, Reach, Tracked};
use crate::sql::Tok;

impl Description {
    /// The tables alive now that a statement reading the tokens `read` reads (through
    /// views, to any depth), but `t` itself.
    pub(super) fn sources<'r>(
        &self,
        read: impl Iterator<Item = &'r Tok>,
        t: Option<usize>,
        reach: &dyn Reach,
    ) -> Vec<usize> {
        self.through_views(read.filter_map(|tok| tok.name()), reach)
            .iter()
            .filter_map(|w| self.alive(w))
            .filter(|&s| Some(s) != t)
            .collect()
    }

    /// Records that a statement wrote rows into `t` read from `sources`. A write that reads
    /// no table the description knows (values, a table it does not follow) puts rows of the
    /// table's own in it; a copy into a table that holds rows of its own mixes them. A copy
    /// from a rollback stash is the stash's, and adds none.
    pub(super) fn fill(
        &mut self,
        t: usize,
        sources: Vec<usize>,
        from_stash: bool,
        reach: &dyn Reach,
    ) {
        let held = self.holds(t, reach);
        let Some(tr) = self.tables.get_mut(t) else {
            return;
        };
        if !sources.is_empty() {
            tr.mixed |= held;
            tr.held = Some(held);
            tr.filled_from.extend(sources);
        } else if !from_stash {
            own_rows(tr);
        }
    }

    /// Records that `t` holds rows of its own from here on (SQL the description cannot read
    /// wrote it).
    pub(super) fn holds_own_rows(&mut self, t: usize) {
        if let Some(tr) = self.tables.get_mut(t) {
            own_rows(tr);
        }
    }

    /// Records that a `DELETE` without `WHERE` emptied `t`: it holds no rows of its own, and
    /// none mixed.
    pub(super) fn emptied(&mut self, t: usize) {
        if let Some(tr) = self.tables.get_mut(t) {
            tr.held = Some(false);
            tr.mixed = false;
        }
    }

    /// True when `t` holds rows of its own now. A table that existed before holds the rows it
    /// held then until the migrations empty it (asked of the database once, when needed).
    fn holds(&self, t: usize, reach: &dyn Reach) -> bool {
        self.tables.get(t).is_some_and(|tr| {
            tr.held
                .unwrap_or_else(|| tr.origin.as_deref().is_none_or(|o| reach.holds_rows(o)))
        })
    }

    /// Why the rows of `before` cannot be followed back into the table `j` (one that has had
    /// its name): they went through a table that holds rows of its own beside them, so the
    /// proof cannot tell which rows came from where. None when no such table is on their way.
    pub(super) fn mixed_on_the_way(
        &self,
        j: usize,
        before: usize,
    ) -> Option<(String, &'static str)> {
        let back = self.filled_back(j);
        if !back.contains(&before) {
            return None;
        }
        let k = back
            .into_iter()
            .find(|&k| self.tables[k].mixed && self.filled_back(k).contains(&before))?;
        let name = &self.tables[k].last;
        let why = format!(
            "\"{name}\": the rows of \"{}\" were copied into it beside rows of its own, and the \
             proof cannot tell them apart",
            self.tables[before].last
        );
        Some((
            why,
            "empty that table before the copy, or copy the rows out into a table the migration creates",
        ))
    }

    /// Why the rows of `before` cannot be followed into a table that existed before the
    /// migrations, was filled from it (directly or on the way), and has had its name (renamed
    /// into its place): the proof follows rows into a table the migrations create, never into
    /// one with rows and a history of its own. None when there is no such table.
    pub(super) fn existing_in_place(&self, before: usize) -> Option<(String, &'static str)> {
        let old = self.tables.get(before)?;
        self.tables
            .iter()
            .enumerate()
            .filter(|&(j, t)| j != before && t.origin.is_some() && super::shares_a_name(t, old))
            .find(|&(j, _)| self.filled_back(j).contains(&before))
            .map(|(_, t)| {
                let why = format!(
                    "\"{}\": a table that existed before the migrations, filled from \"{}\", \
                     takes its name",
                    t.origin.as_deref().unwrap_or(&t.last),
                    old.last
                );
                (
                    why,
                    "copy the rows out into a table the migration creates, and rename that one into its place",
                )
            })
    }

    /// The tables on the way from `b` back into `t`, oldest first, through tables filled in
    /// turn (breadth first from `t`), none of them mixed ([`Tracked::mixed`]); None when no
    /// such way exists.
    pub(super) fn scratch_path(&self, t: usize, b: usize) -> Option<Vec<usize>> {
        // Each table reached remembers the one it fills (towards `t`), to read the path back.
        let mut fills: BTreeMap<usize, Option<usize>> = BTreeMap::new();
        let mut queue = VecDeque::new();
        for &c in &self.tables.get(t)?.filled_from {
            if c != b && fills.insert(c, None).is_none() {
                queue.push_back(c);
            }
        }
        while let Some(c) = queue.pop_front() {
            let Some(s) = self.tables.get(c) else {
                continue;
            };
            if s.mixed {
                continue; // its rows are not only b's: mixed_on_the_way refuses it
            }
            if s.filled_from.contains(&b) {
                let mut path = vec![c];
                let mut at = c;
                while let Some(&Some(next)) = fills.get(&at) {
                    path.push(next);
                    at = next;
                }
                return Some(path);
            }
            for &f in &s.filled_from {
                if f != b && f != t && !fills.contains_key(&f) {
                    fills.insert(f, Some(c));
                    queue.push_back(f);
                }
            }
        }
        None
    }
}

/// Marks `t` as holding rows of its own, mixed with rows copied into it before.
fn own_rows(t: &mut Tracked) {
    t.held = Some(true);
    t.mixed |= !t.filled_from.is_empty();
}
