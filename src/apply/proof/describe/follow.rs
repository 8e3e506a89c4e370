//! The writes the description follows beyond a plain `INSERT ... SELECT`, and those it cannot
//! read: a fill that reads a view (followed through the view's own query, as SQLite runs it),
//! a `WITH ...` prefix (its CTEs read as part of the fill), and writes made by triggers a
//! statement fires, or by a statement the description cannot read. The last two are never
//! followed: a table the migrations created that such a write reaches is marked
//! [`Tracked::unread`], and a dropped table whose name it takes is then not proven (the proof
//! refuses it: it fails closed, never "only dropped").

use std::collections::BTreeSet;

use sqlparser::tokenizer::Token;

use super::{Description, Reach};
use crate::sql::{Tok, object_at};

impl Description {
    /// Records a `CREATE [TEMP] VIEW` (from the token after `VIEW`): the names its query reads.
    pub(super) fn create_view(&mut self, st: &[Tok], at: usize) {
        if let Some((name, next)) = object_at(st, at) {
            let reads = st[next.min(st.len())..]
                .iter()
                .filter_map(|t| t.name())
                .map(str::to_ascii_lowercase)
                .collect();
            self.views.insert(name.to_ascii_lowercase(), reads);
        }
    }

    /// Records a table rename: the views read the table under its new name.
    pub(super) fn renamed(&mut self, from: &str, to: &str) {
        let (from, to) = (from.to_ascii_lowercase(), to.to_ascii_lowercase());
        for reads in self.views.values_mut() {
            for r in reads.iter_mut().filter(|r| **r == from) {
                r.clone_from(&to);
            }
        }
        self.renames.push((from, to));
    }

    /// The names a fill reading `names` reads: each name, and through every view among them
    /// (created by the migrations, or in the database before them), the names its query
    /// reads, to any depth.
    pub(super) fn through_views<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
        reach: &dyn Reach,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut work: Vec<String> = names.into_iter().map(str::to_ascii_lowercase).collect();
        while let Some(n) = work.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some(reads) = self.views.get(&n) {
                work.extend(reads.iter().cloned());
            } else if let Some(reads) = reach.view_reads(&n) {
                // A view of the database reads its tables under the names the renames give.
                work.extend(reads.into_iter().map(|r| {
                    let mut r = r.to_ascii_lowercase();
                    for (from, to) in &self.renames {
                        if r == *from {
                            r.clone_from(to);
                        }
                    }
                    r
                }));
            }
            out.push(n);
        }
        out
    }

    /// Describes a statement that starts `WITH ...`: the statement after its CTEs, with the
    /// CTEs read as part of what an `INSERT` fills from. Anything else is undescribed.
    pub(super) fn with(&mut self, st: &[Tok], reach: &dyn Reach) {
        let mut depth = 0usize;
        let verb = st.iter().position(|t| {
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {
                    return depth == 0
                        && ["INSERT", "REPLACE", "UPDATE", "DELETE", "SELECT"]
                            .iter()
                            .any(|k| t.is_kw(k));
                }
            }
            false
        });
        match verb {
            Some(v) if v > 0 => self.statement_after(&st[v..], &st[..v], reach),
            _ => self.undescribed(st, reach),
        }
    }

    /// Marks every table the migrations created that the triggers on `target` write (and the
    /// triggers on those write, to any depth) as written by SQL the description does not read.
    pub(super) fn fire(&mut self, target: &str, reach: &dyn Reach) {
        let mut work = vec![target.to_ascii_lowercase()];
        let mut seen = BTreeSet::new();
        while let Some(on) = work.pop() {
            if !seen.insert(on.clone()) {
                continue;
            }
            for n in reach.trigger_writes(&on) {
                self.unread(&n, &format!("a trigger on \"{on}\" writes it"));
                work.push(n.to_ascii_lowercase());
            }
        }
    }

    /// Marks the table the migrations created alive under `name` (if any) as written by SQL
    /// the description does not read, with why.
    pub(super) fn unread(&mut self, name: &str, why: &str) {
        let Some(i) = self.alive(name) else { return };
        if self.tables[i].origin.is_some() {
            // A table that existed before: it may now hold rows no statement copied in.
            self.holds_own_rows(i);
        } else if self.tables[i].unread.is_none() {
            self.tables[i].unread = Some(format!("\"{name}\": {why}"));
        }
    }

    /// Why the rows of `before` (a table that existed before, dropped with no table taking
    /// its place) cannot be held to anything: a table the migrations created under a name it
    /// had (not TEMP) was written, or filled from a table written, by SQL the description does
    /// not read, or filled from it through a table holding rows of its own beside its rows
    /// ([`Description::mixed_on_the_way`]), or a table that existed before took its name
    /// ([`Description::existing_in_place`]); with what to do instead. None when no such write
    /// reaches one (the table is only dropped: the destructive gate's).
    pub fn unread_into(&self, before: usize) -> Option<(String, &'static str)> {
        if self.successor(before).is_some() {
            return None;
        }
        let old = self.tables.get(before)?;
        self.tables
            .iter()
            .enumerate()
            .filter(|&(j, t)| {
                j != before && t.origin.is_none() && !t.temp && super::shares_a_name(t, old)
            })
            .find_map(|(j, t)| {
                t.unread
                    .clone()
                    .or_else(|| {
                        self.filled_back(j)
                            .into_iter()
                            .find_map(|k| self.tables.get(k)?.unread.clone())
                    })
                    .map(|why| {
                        let fix = "copy its rows back with INSERT ... SELECT from the table that holds them";
                        (why, fix)
                    })
                    .or_else(|| self.mixed_on_the_way(j, before))
            })
            .or_else(|| self.existing_in_place(before))
    }
}
