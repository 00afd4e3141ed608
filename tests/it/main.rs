//! The integration suite: drives the real `cargo-grader` binary on fixture submissions,
//! through the guest (QEMU must be installed: a missing QEMU fails, it is not skipped).

mod architecture;
mod bulk;
mod cli;
mod dashboard;
mod fixtures;
mod handout;
mod hints;
mod hostile;
mod lab7;
mod outputs;
mod overlays;
mod perturb;
mod reports;
mod snapshot;
mod util;
mod watch;
