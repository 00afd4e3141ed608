//! The JSON report: the stable contract for CI and instructors.

use std::io::{self, Write};

use super::GradeReport;

/// Writes the report as one pretty JSON document.
pub fn write(report: &GradeReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
