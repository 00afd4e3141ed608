//! The AISE lab grader: course model, lab specs, building student code, running it in a
//! sandbox (a QEMU guest or the local host) through the agent, auditing, scoring, reporting.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod agent;
pub mod bench;
pub mod build;
pub mod bulk;
pub mod calibrate;
pub mod check;
pub mod cli;
pub mod config;
pub mod course;
pub mod cpio;
pub mod dashboard;
pub mod doctor;
pub mod errors;
pub mod events;
pub mod fixture;
pub mod grade;
pub mod handout;
pub mod hints;
pub mod image;
pub mod ipclab;
pub mod lab;
pub mod lang;
pub mod overlay;
pub mod progress;
pub mod protocol;
pub mod qemulab;
pub mod qmp;
pub mod report;
pub mod sandbox;
pub mod score;
pub mod session;
pub mod similarity;
pub mod slurm;
pub mod spec;
pub mod timings;
pub mod watch;
