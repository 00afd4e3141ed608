//! Every fixture under tests/fixtures gets its expected verdict through the guest, which
//! is restored from its snapshot.

use grader::fixture::{self, Fixture};

use crate::util::{grade_json_with, root, tempdir};

fn run_fixture(lab: &str, case: &str) {
    let dir = root().join("tests/fixtures").join(lab).join(case);
    let fx = Fixture::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let sub = tempdir(&format!("{lab}-{case}"));
    fx.materialize(&root(), &sub)
        .unwrap_or_else(|e| panic!("{e}"));
    let extra: &[&str] = if fx.perturb { &["--perturb"] } else { &[] };
    let backend = fx.backend.as_deref().unwrap_or("qemu");
    let (report, out) = grade_json_with(&fx.lab, &sub, backend, 4242, extra);
    assert_eq!(report.perturbation.is_some(), fx.perturb, "{lab}/{case}");
    // A QEMU lab (lab 7) drives QEMU on the host itself; `--backend qemu` is accepted.
    let course = grader::course::Course::load(&root().join("course.toml")).unwrap();
    let want_backend = match (course.lab(&fx.lab).unwrap().kind, backend) {
        (grader::course::LabKind::Qemu, _) => grader::report::Backend::Host,
        (grader::course::LabKind::Ipc, "local") => grader::report::Backend::Local,
        (grader::course::LabKind::Ipc, _) => grader::report::Backend::Qemu,
    };
    assert_eq!(report.backend, want_backend);
    // Scenario labs run in a guest restored from the snapshot (unless the build failed:
    // then no guest starts at all).
    if want_backend == grader::report::Backend::Qemu && !report.build.built.is_empty() {
        assert_eq!(
            report.guest_start,
            Some(grader::report::GuestStart::Restored),
            "{lab}/{case}: notices {:?}",
            report.notices
        );
    }
    let problems = fx.check(&report);
    assert!(
        problems.is_empty(),
        "fixture {lab}/{case}:\n  {}\nstderr: {}",
        problems.join("\n  "),
        String::from_utf8_lossy(&out.stderr)
    );
    let want_code = if !report.gradable {
        3
    } else if report.score == report.max_score && report.build.ok {
        0
    } else {
        1
    };
    assert_eq!(
        out.status.code(),
        Some(want_code),
        "exit code of {lab}/{case}"
    );
}

/// Every fixture directory has a test below, or in hostile.rs for the hostile-build
/// corpus (so none is silently ignored).
#[test]
fn every_fixture_is_tested() {
    let listed = [include_str!("fixtures.rs"), include_str!("hostile.rs")].concat();
    for dir in fixture::discover(&root().join("tests/fixtures")) {
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let lab = dir
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let needle = format!("\"{lab}\", \"{case}\"");
        assert!(
            listed.contains(&needle),
            "tests/fixtures/{lab}/{case} has no test in tests/it/fixtures.rs or hostile.rs"
        );
    }
}

macro_rules! fixture_tests {
    ($($name:ident => ($lab:literal, $case:literal);)*) => {
        $(#[test] fn $name() { run_fixture($lab, $case); })*
    };
}

fixture_tests! {
    lab1_correct_c => ("lab1", "correct-c");
    lab1_empty => ("lab1", "empty");
    lab1_ignores_count => ("lab1", "ignores-count");
    lab1_memory_hog => ("lab1", "memory-hog");
    lab1_kill_all_local => ("lab1", "kill-all");
    lab1_correct_rust => ("lab1", "correct-rust");
    lab1_skeleton => ("lab1", "skeleton");
    lab1_skeleton_c => ("lab1", "skeleton-c");
    lab1_wrong_type => ("lab1", "wrong-type");
    lab1_leak => ("lab1", "leak");
    lab1_no_compile => ("lab1", "no-compile");
    lab1_segfault => ("lab1", "segfault");
    lab1_hang => ("lab1", "hang");
    lab1_slow_pingpong => ("lab1", "slow-pingpong");
    lab1_fake_output => ("lab1", "fake-output");
    lab1_fresh_guest => ("lab1", "fresh-guest");
    lab1_killed_by_child => ("lab1", "killed-by-child");
    lab1_killed_huge_file => ("lab1", "huge-file");
    lab1_killed_fork_limit => ("lab1", "fork-limit");
    lab1_killed_output_flood => ("lab1", "output-flood");
    lab1_killed_child_left_running => ("lab1", "child-left-running");
    lab2_correct_c => ("lab2", "correct-c");
    lab2_correct_rust => ("lab2", "correct-rust");
    lab2_skeleton => ("lab2", "skeleton");
    lab2_skeleton_c => ("lab2", "skeleton-c");
    lab2_no_stale_handling => ("lab2", "no-stale-handling");
    lab2_no_rmid => ("lab2", "no-rmid");
    lab2_perms_0666 => ("lab2", "perms-0666");
    lab2_client_perror_only => ("lab2", "client-perror-only");
    lab3_correct_c => ("lab3", "correct-c");
    lab3_correct_rust => ("lab3", "correct-rust");
    lab3_skeleton => ("lab3", "skeleton");
    lab3_skeleton_c => ("lab3", "skeleton-c");
    lab3_slides_semaphore => ("lab3", "slides-semaphore");
    lab3_no_sem_undo => ("lab3", "no-sem-undo");
    lab3_no_lock => ("lab3", "no-lock");
    lab3_no_rmid => ("lab3", "no-rmid");
    lab3_not_line_buffered => ("lab3", "not-line-buffered");
    lab3_racy_counter_reset => ("lab3", "racy-counter-reset");
    lab3_semhold_resets => ("lab3", "semhold-resets");
    lab3_shm_not_removed => ("lab3", "shm-not-removed");
    lab4_correct_c => ("lab4", "correct-c");
    lab4_correct_rust => ("lab4", "correct-rust");
    lab4_skeleton => ("lab4", "skeleton");
    lab4_skeleton_c => ("lab4", "skeleton-c");
    lab4_still_sysv => ("lab4", "still-sysv");
    lab4_no_unlink => ("lab4", "no-unlink");
    lab4_wrong_mode => ("lab4", "wrong-mode");
    lab4_sem_never_done => ("lab4", "sem-never-done");
    lab7_correct => ("lab7", "correct");
    lab7_skeleton => ("lab7", "skeleton");
    lab7_cpu_add => ("lab7", "cpu-add");
    lab7_no_balloon => ("lab7", "no-balloon");
    lab7_no_maxcpus => ("lab7", "no-maxcpus");
    lab7_raw_image => ("lab7", "raw-image");
    lab7_wrong_size => ("lab7", "wrong-size");
    lab7_never_stopped => ("lab7", "never-stopped");
    lab7_e1000 => ("lab7", "e1000");
    lab7_system_powerdown => ("lab7", "system-powerdown");
    lab5_correct_c => ("lab5", "correct-c");
    lab5_correct_rust => ("lab5", "correct-rust");
    lab5_map_private => ("lab5", "map-private");
    lab5_skeleton => ("lab5", "skeleton");
    lab5_skeleton_c => ("lab5", "skeleton-c");
    lab5_sleep_sync => ("lab5", "sleep-sync");
    lab5_sort_first_half => ("lab5", "sort-first-half");
    lab5_sort_read_write => ("lab5", "sort-read-write");
    lab5_sort_unsigned => ("lab5", "sort-unsigned");
    lab6_append_truncates => ("lab6", "append-truncates");
    lab6_correct_c => ("lab6", "correct-c");
    lab6_correct_rust => ("lab6", "correct-rust");
    lab6_fd_leak => ("lab6", "fd-leak");
    lab6_parent_keeps_read_end => ("lab6", "parent-keeps-read-end");
    lab6_pipe_tac_parent_keeps_pipe => ("lab6", "pipe-tac-parent-keeps-pipe");
    lab6_redir_no_dup2 => ("lab6", "redir-no-dup2");
    lab6_redir_perms_0644 => ("lab6", "redir-perms-0644");
    lab6_skeleton => ("lab6", "skeleton");
    lab6_skeleton_c => ("lab6", "skeleton-c");
    lab6_slides_pipe => ("lab6", "slides-pipe");
    lab6_slides_redir => ("lab6", "slides-redir");
    lab6_unclosed_pipe => ("lab6", "unclosed-pipe");
}
