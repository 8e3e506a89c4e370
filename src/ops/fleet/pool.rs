//! The worker pool: `jobs` threads in this process taking targets from one queue, in order.
//! A target whose database is busy (another process holds its lock) goes back to the end of
//! the queue instead of holding a worker, and is tried again after the others. When asked to
//! stop (too many failures, a failed canary, Ctrl-C), no new target starts; the ones in flight
//! finish, and the ones never started are returned as such.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a busy target is tried before it is reported busy.
pub const BUSY_ATTEMPTS: u32 = 4;

/// What a worker made of one attempt at a target.
pub enum Attempt<R> {
    /// The target is finished, with this result.
    Done(R),
    /// The database was busy: try it again later.
    Busy,
}

/// Maps `items` through `f` on `jobs` threads; the results are in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

struct Task {
    index: usize,
    attempts: u32,
    last: Option<Instant>,
}

/// Runs `work` on each of `count` targets (by index) on `jobs` threads. `work` gets the index
/// and whether this is the last attempt (then it must return [`Attempt::Done`]). Before each
/// target starts, `stop` is asked; once it says yes, nothing more starts. Returns, by index,
/// the result of each target that ran (None: never started).
pub fn run<R: Send>(
    count: usize,
    jobs: usize,
    stop: &(dyn Fn() -> bool + Sync),
    work: &(dyn Fn(usize, bool) -> Attempt<R> + Sync),
) -> Vec<Option<R>> {
    let queue: Mutex<VecDeque<Task>> = Mutex::new(
        (0..count)
            .map(|index| Task {
                index,
                attempts: 0,
                last: None,
            })
            .collect(),
    );
    let results: Vec<Mutex<Option<R>>> = (0..count).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            s.spawn(|| {
                loop {
                    if stop() {
                        break;
                    }
                    let task = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(mut task) = task else { break };
                    if let Some(last) = task.last {
                        // Give the holder of a busy database a moment before trying again.
                        let wait = Duration::from_millis(100) * task.attempts;
                        if let Some(left) = wait.checked_sub(last.elapsed()) {
                            std::thread::sleep(left);
                        }
                        if stop() {
                            queue
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push_front(task);
                            break;
                        }
                    }
                    task.attempts += 1;
                    match work(task.index, task.attempts >= BUSY_ATTEMPTS) {
                        Attempt::Done(r) => {
                            *results[task.index]
                                .lock()
                                .unwrap_or_else(|p| p.into_inner()) = Some(r);
                        }
                        Attempt::Busy => {
                            task.last = Some(Instant::now());
                            queue
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push_back(task);
                        }
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn map_keeps_the_order_of_the_items() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            map(&items, 4, |i| i * 2),
            (0..100).map(|i| i * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_busy_target_goes_to_the_end_and_is_reported_on_its_last_attempt() {
        let order = Mutex::new(Vec::new());
        let results = run(3, 1, &|| false, &|i, last| {
            order.lock().unwrap().push(i);
            if i == 0 && !last {
                Attempt::Busy
            } else {
                Attempt::Done((i, last))
            }
        });
        assert_eq!(
            results,
            vec![Some((0, true)), Some((1, false)), Some((2, false))]
        );
        let order = order.into_inner().unwrap();
        assert_eq!(&order[..3], &[0, 1, 2]);
        assert_eq!(order.len(), 2 + BUSY_ATTEMPTS as usize);
    }

    #[test]
    fn after_stop_nothing_new_starts() {
        let started = AtomicUsize::new(0);
        let results = run(50, 2, &|| started.load(Ordering::SeqCst) >= 5, &|i, _| {
            started.fetch_add(1, Ordering::SeqCst);
            Attempt::Done(i)
        });
        let ran = results.iter().filter(|r| r.is_some()).count();
        // Each of the two workers may have started one more before seeing the stop.
        assert!((5..=6).contains(&ran), "{ran} ran");
        assert!(results[40..].iter().all(Option::is_none));
    }
}
