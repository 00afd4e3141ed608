//! The AISE lab grader: course model, lab specs, building student code, running it in a
//! sandbox (a QEMU guest or the local host) through the agent, auditing, scoring, reporting.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod protocol;
