//! Where student code runs: the backends that start the agent with a job and bring its
//! event stream back. `qemu` boots the guest image under QEMU.

pub mod child;
pub mod guest;
pub mod jail;
pub mod local;
pub mod qemu;
pub mod snapshot;

mod backend;
pub use backend::{Sandbox, SandboxError, SandboxRun};
