//! The x86_64 system call numbers the agent can audit, by name (both directions).

/// `(name, x86_64 number)` of every system call worth counting in the IPC labs.
///
/// Literal numbers rather than `libc::SYS_*` so the host can validate spec names on any
/// architecture; a test checks them against `libc` on x86_64.
const TABLE: &[(&str, i64)] = &[
    // SysV message queues, shared memory, semaphores.
    ("msgget", 68),
    ("msgsnd", 69),
    ("msgrcv", 70),
    ("msgctl", 71),
    ("shmget", 29),
    ("shmat", 30),
    ("shmctl", 31),
    ("shmdt", 67),
    ("semget", 64),
    ("semop", 65),
    ("semctl", 66),
    ("semtimedop", 220),
    // POSIX message queues.
    ("mq_open", 240),
    ("mq_unlink", 241),
    ("mq_timedsend", 242),
    ("mq_timedreceive", 243),
    ("mq_notify", 244),
    ("mq_getsetattr", 245),
    // POSIX shared memory is files + mappings.
    ("mmap", 9),
    ("munmap", 11),
    ("msync", 26),
    ("ftruncate", 77),
    ("memfd_create", 319),
    ("unlink", 87),
    ("unlinkat", 263),
    // Pipes and descriptors.
    ("pipe", 22),
    ("pipe2", 293),
    ("dup", 32),
    ("dup2", 33),
    ("dup3", 292),
    ("close", 3),
    ("mknod", 133),
    ("mknodat", 259),
    ("socketpair", 53),
    // Processes.
    ("fork", 57),
    ("vfork", 58),
    ("clone", 56),
    ("clone3", 435),
    ("execve", 59),
    ("execveat", 322),
    ("wait4", 61),
    ("waitid", 247),
    ("kill", 62),
    ("tgkill", 234),
    ("rt_sigaction", 13),
    ("pause", 34),
    // Files.
    ("read", 0),
    ("write", 1),
    ("pread64", 17),
    ("pwrite64", 18),
    ("readv", 19),
    ("writev", 20),
    ("preadv", 295),
    ("pwritev", 296),
    ("open", 2),
    ("openat", 257),
    // Synchronisation and time.
    ("futex", 202),
    ("nanosleep", 35),
    ("clock_nanosleep", 230),
];

/// The x86_64 number of an auditable system call, `None` if the name is not in the table.
pub fn syscall_number(name: &str) -> Option<i64> {
    TABLE.iter().find(|(n, _)| *n == name).map(|&(_, nr)| nr)
}

/// The name of an auditable system call number (the reverse of [`syscall_number`]).
pub(crate) fn syscall_name(nr: i64) -> Option<&'static str> {
    TABLE.iter().find(|&&(_, n)| n == nr).map(|&(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(syscall_number("msgget"), Some(68));
        assert_eq!(syscall_number("no_such_call"), None);
        for &(name, nr) in TABLE {
            assert_eq!(syscall_name(nr), Some(name), "duplicate number {nr}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn numbers_match_libc_on_x86_64() {
        let libc_numbers = [
            ("msgget", libc::SYS_msgget),
            ("msgsnd", libc::SYS_msgsnd),
            ("msgrcv", libc::SYS_msgrcv),
            ("msgctl", libc::SYS_msgctl),
            ("shmget", libc::SYS_shmget),
            ("shmat", libc::SYS_shmat),
            ("shmctl", libc::SYS_shmctl),
            ("shmdt", libc::SYS_shmdt),
            ("semget", libc::SYS_semget),
            ("semop", libc::SYS_semop),
            ("semctl", libc::SYS_semctl),
            ("semtimedop", libc::SYS_semtimedop),
            ("mq_open", libc::SYS_mq_open),
            ("mq_unlink", libc::SYS_mq_unlink),
            ("mq_timedsend", libc::SYS_mq_timedsend),
            ("mq_timedreceive", libc::SYS_mq_timedreceive),
            ("mq_notify", libc::SYS_mq_notify),
            ("mq_getsetattr", libc::SYS_mq_getsetattr),
            ("mmap", libc::SYS_mmap),
            ("munmap", libc::SYS_munmap),
            ("msync", libc::SYS_msync),
            ("ftruncate", libc::SYS_ftruncate),
            ("memfd_create", libc::SYS_memfd_create),
            ("unlink", libc::SYS_unlink),
            ("unlinkat", libc::SYS_unlinkat),
            ("pipe", libc::SYS_pipe),
            ("pipe2", libc::SYS_pipe2),
            ("dup", libc::SYS_dup),
            ("dup2", libc::SYS_dup2),
            ("dup3", libc::SYS_dup3),
            ("close", libc::SYS_close),
            ("mknod", libc::SYS_mknod),
            ("mknodat", libc::SYS_mknodat),
            ("socketpair", libc::SYS_socketpair),
            ("read", libc::SYS_read),
            ("write", libc::SYS_write),
            ("pread64", libc::SYS_pread64),
            ("pwrite64", libc::SYS_pwrite64),
            ("readv", libc::SYS_readv),
            ("writev", libc::SYS_writev),
            ("preadv", libc::SYS_preadv),
            ("pwritev", libc::SYS_pwritev),
            ("fork", libc::SYS_fork),
            ("vfork", libc::SYS_vfork),
            ("clone", libc::SYS_clone),
            ("clone3", libc::SYS_clone3),
            ("execve", libc::SYS_execve),
            ("execveat", libc::SYS_execveat),
            ("wait4", libc::SYS_wait4),
            ("waitid", libc::SYS_waitid),
            ("kill", libc::SYS_kill),
            ("tgkill", libc::SYS_tgkill),
            ("rt_sigaction", libc::SYS_rt_sigaction),
            ("pause", libc::SYS_pause),
            ("open", libc::SYS_open),
            ("openat", libc::SYS_openat),
            ("futex", libc::SYS_futex),
            ("nanosleep", libc::SYS_nanosleep),
            ("clock_nanosleep", libc::SYS_clock_nanosleep),
        ];
        for (name, nr) in libc_numbers {
            assert_eq!(syscall_number(name), Some(nr), "{name}");
        }
        assert_eq!(TABLE.len(), libc_numbers.len());
    }
}
