//! Seeded schedule perturbation: with a [`Perturbation`] in the job, the agent holds the
//! student's process-creating calls (10-20 ms) and one IPC call in four (up to 4 ms),
//! through the seccomp notification it already answers, every draw from the seed, so that
//! the other processes run first. A program whose correctness rests on the usual order
//! (the parent runs on after `fork`, a writer is quicker than its reader) then loses its
//! race; a correctly synchronised one only runs a little slower.
//!
//! The seed fixes every draw: which calls are held and for how long, in the order the
//! notifications arrive. That order itself is the scheduler's, so a replay holds the same
//! kinds of calls the same way rather than reproducing one interleaving exactly; the
//! delays are long enough that the race is lost every time.

use std::time::Duration;

use crate::protocol::Perturbation;

use super::syscalls::syscall_number;

/// Calls that start a process: always held, so the processes already started run first.
const SPAWN: &[&str] = &["fork", "vfork", "clone", "clone3"];
/// IPC calls: each held with probability 1/[`IPC_ODDS`].
const IPC: &[&str] = &[
    "semop",
    "semtimedop",
    "shmat",
    "shmdt",
    "msgsnd",
    "msgrcv",
    "mq_timedsend",
    "mq_timedreceive",
];
/// One IPC call in this many is held.
const IPC_ODDS: u64 = 4;
/// IPC calls held at most per scenario: the first ones, where a race between starting
/// processes is; a pingpong of hundreds of round trips is not slowed past its deadline.
const MAX_IPC_HOLDS: u32 = 48;
/// A fork is held this many times longer than an IPC call at most: long enough, even in
/// an emulated guest, for the children already started to get well past their first
/// steps (a fork is rare, so a long hold costs a correct program little).
const SPAWN_FACTOR: u64 = 5;

/// The draws of one scenario.
#[derive(Debug, Clone)]
pub(crate) struct Perturber {
    state: u64,
    spawn: Vec<i64>,
    ipc: Vec<i64>,
    max_us: u64,
    ipc_holds: u32,
}

/// FNV-1a: the scenario's name mixed into the seed, so scenarios draw differently.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn numbers(names: &[&str]) -> Vec<i64> {
    names.iter().filter_map(|n| syscall_number(n)).collect()
}

impl Perturber {
    /// The perturbation of scenario `scenario` under `p`.
    pub(crate) fn new(p: &Perturbation, scenario: &str) -> Perturber {
        Perturber {
            state: p.seed ^ fnv(scenario),
            spawn: numbers(SPAWN),
            ipc: numbers(IPC),
            max_us: p.max_delay_us.max(1),
            ipc_holds: 0,
        }
    }

    /// The calls the filter must notify on.
    pub(crate) fn syscalls(&self) -> Vec<i64> {
        self.spawn.iter().chain(&self.ipc).copied().collect()
    }

    /// splitmix64: small, fast, and the same on every machine.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// How long to hold call `nr` before letting it through; `None`: at once.
    pub(crate) fn delay(&mut self, nr: i64) -> Option<Duration> {
        let (low, high) = if self.spawn.contains(&nr) {
            let high = self.max_us * SPAWN_FACTOR;
            (high / 2, high)
        } else if self.ipc.contains(&nr)
            && self.ipc_holds < MAX_IPC_HOLDS
            && self.next() % IPC_ODDS == 0
        {
            self.ipc_holds += 1;
            (self.max_us / 8, self.max_us)
        } else {
            return None;
        };
        let us = low + self.next() % (high - low + 1);
        Some(Duration::from_micros(us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seed: u64) -> Perturbation {
        Perturbation {
            seed,
            max_delay_us: 4000,
        }
    }

    fn draws(seed: u64, scenario: &str) -> Vec<Option<Duration>> {
        let mut x = Perturber::new(&p(seed), scenario);
        let semop = syscall_number("semop").unwrap();
        (0..64).map(|_| x.delay(semop)).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_delays() {
        assert_eq!(draws(7, "mutual_exclusion"), draws(7, "mutual_exclusion"));
        assert_ne!(draws(7, "mutual_exclusion"), draws(8, "mutual_exclusion"));
        assert_ne!(draws(7, "mutual_exclusion"), draws(7, "alternation"));
    }

    #[test]
    fn spawns_are_always_held_ipc_sometimes_others_never() {
        let mut x = Perturber::new(&p(3), "s");
        let clone = syscall_number("clone").unwrap();
        for _ in 0..32 {
            let d = x.delay(clone).expect("a fork is always held");
            assert!(d >= Duration::from_micros(10_000) && d <= Duration::from_micros(20_000));
        }
        assert_eq!(x.delay(syscall_number("write").unwrap()), None);
        let held = draws(3, "s").iter().flatten().count();
        assert!((4..=32).contains(&held), "{held} of 64 semops held");
        for d in draws(3, "s").into_iter().flatten() {
            assert!(d <= Duration::from_micros(4000));
        }
    }
}
