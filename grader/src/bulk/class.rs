//! A generated class, to test and benchmark bulk grading: the lab's fixture submissions
//! (`tests/fixtures/LAB/*`) handed out round-robin under student names, some packed as
//! `.tar.gz` or `.zip`; plus tampered copies (a spec edited to give itself points) and
//! disguised copies (renamed, reformatted) of the full-marks ones. The verdict expected of
//! every student, derived from the fixtures' `[expect]` and the spec, is written beside
//! the class (`expected.json`) and [`check`] compares a results directory with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::course::Course;
use crate::fixture::{self, Fixture};
use crate::report::csv::{self, RowStatus};
use crate::similarity::Lang;
use crate::spec::LabSpec;

/// Failures to generate or check a class.
#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    /// A file could not be read or written.
    #[error("failed to access {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The lab cannot make a class.
    #[error("failed to generate a class for {lab}: {message}")]
    Lab {
        /// Lab id.
        lab: String,
        /// Why.
        message: String,
    },
    /// A fixture is broken.
    #[error(transparent)]
    Fixture(#[from] fixture::FixtureError),
    /// The spec could not be loaded.
    #[error(transparent)]
    Grade(#[from] crate::lab::GradeError),
    /// The course is wrong.
    #[error(transparent)]
    Course(#[from] crate::course::CourseError),
    /// `expected.json` is unreadable.
    #[error("failed to read {path}: {message}")]
    Expected {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// What `gen-class` was asked.
#[derive(Debug, Clone)]
pub struct ClassOptions {
    /// Lab id or name.
    pub lab: String,
    /// Directory to create: `OUT/submissions/` and `OUT/expected.json`.
    pub out: PathBuf,
    /// Students.
    pub size: usize,
}

/// What one student must get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// Student name.
    pub student: String,
    /// The fixture the submission comes from (relative to the course root).
    pub fixture: PathBuf,
    /// `plain`, `tampered` or `disguised`.
    pub variant: String,
    /// `dir`, `tar.gz` or `zip`.
    pub packaging: String,
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// Scenario → points.
    pub points: BTreeMap<String, u32>,
    /// The gradebook status.
    pub status: String,
    /// A notice the report must carry.
    pub notice: Option<String>,
}

const NAMES: &[&str] = &[
    "alice",
    "bastien",
    "chloe",
    "david",
    "emma",
    "farid",
    "gabrielle",
    "hugo",
    "ines",
    "jules",
    "karim",
    "lea",
    "mathis",
    "nora",
    "oscar",
    "pauline",
    "quentin",
    "rose",
    "samuel",
    "thea",
    "ugo",
    "victoire",
    "william",
    "xavier",
    "yasmine",
    "zoe",
    "adam",
    "berenice",
    "camille",
    "dylan",
    "elise",
    "florian",
    "garance",
    "hector",
    "iris",
    "jade",
];

/// The `i`-th student name.
pub fn name(i: usize) -> String {
    let base = NAMES[i % NAMES.len()];
    match i / NAMES.len() {
        0 => base.to_string(),
        n => format!("{base}{}", n + 1),
    }
}

/// The row a fixture must give: scenario points from its expected statuses.
pub fn expected_row(spec: &LabSpec, fx: &Fixture) -> (u32, BTreeMap<String, u32>, RowStatus) {
    let built = fx.expect.build == "ok";
    let others = fx.expect.others.as_deref().unwrap_or("passed");
    let points: BTreeMap<String, u32> = spec
        .scenarios
        .iter()
        .map(|s| {
            let verdict = fx.expect.status.get(&s.name).map_or(others, String::as_str);
            let p = match (built, verdict) {
                (true, "passed") => s.max_points(),
                (true, "leak") => s.points,
                _ => 0,
            };
            (s.name.clone(), p)
        })
        .collect();
    let score = points.values().sum();
    let status = if !built {
        RowStatus::BuildFailed
    } else if score == spec.max_score() {
        RowStatus::FullMarks
    } else {
        RowStatus::PointsLost
    };
    (score, points, status)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ClassError + '_ {
    move |source| ClassError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The lab's fixtures (`tests/fixtures/LAB/*`: not the hostile-build corpus), sorted by
/// name.
fn lab_fixtures(course: &Course, lab: &str) -> Result<Vec<Fixture>, ClassError> {
    let mut out = Vec::new();
    for dir in fixture::discover(&course.root.join("tests/fixtures")) {
        let fx = Fixture::load(&dir)?;
        let in_lab_dir = dir.parent().and_then(Path::file_name) == Some(lab.as_ref());
        // A guest-only fixture would be graded locally by a class graded there.
        if fx.lab == lab && in_lab_dir && !fx.guest_only {
            out.push(fx);
        }
    }
    Ok(out)
}

/// A fixture that expects full marks.
fn is_full(fx: &Fixture) -> bool {
    fx.expect.build == "ok"
        && fx.expect.others.as_deref().unwrap_or("passed") == "passed"
        && fx.expect.status.is_empty()
}

/// What every student of a class is made from.
struct Material<'a> {
    course: &'a Course,
    pinned: crate::ipclab::PinnedSpec,
    spec_text: String,
    subs: PathBuf,
}

/// Generates the class and writes `expected.json`; returns the expectations.
pub fn generate(course: &Course, opts: &ClassOptions) -> Result<Vec<Expected>, ClassError> {
    let lab = course.lab(&opts.lab)?.clone();
    let fixtures = lab_fixtures(course, &lab.id)?;
    let lab_err = |message: String| ClassError::Lab {
        lab: lab.id.clone(),
        message,
    };
    if fixtures.is_empty() {
        return Err(lab_err("it has no fixtures under tests/fixtures".into()));
    }
    let subs = opts.out.join("submissions");
    if subs.exists() {
        return Err(lab_err(format!("{} already exists", subs.display())));
    }
    std::fs::create_dir_all(&subs).map_err(io(&subs))?;
    let spec_path = course.path(&lab.spec);
    let m = Material {
        course,
        pinned: crate::ipclab::load_spec(course, &lab)?,
        spec_text: std::fs::read_to_string(&spec_path).map_err(io(&spec_path))?,
        subs,
    };
    let extras = extra_plan(&fixtures);
    let plain = opts.size.saturating_sub(extras.len()).max(1);
    let total = plain + extras.len().min(opts.size.saturating_sub(plain));
    let expected = (0..total)
        .map(|i| {
            let (fx, variant) = if i < plain {
                (&fixtures[i % fixtures.len()], "plain")
            } else {
                extras[i - plain]
            };
            make_student(&m, i, fx, variant)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let path = opts.out.join("expected.json");
    let json = serde_json::to_vec_pretty(&expected).expect("expectations serialize");
    std::fs::write(&path, json).map_err(io(&path))?;
    Ok(expected)
}

/// Student `i`: the fixture materialized, tampered or disguised, packed.
fn make_student(
    m: &Material<'_>,
    i: usize,
    fx: &Fixture,
    variant: &str,
) -> Result<Expected, ClassError> {
    let student = name(i);
    let packaging = match (variant, i % 5, i % 7) {
        ("plain", 3, _) => "tar.gz",
        ("plain", _, 5) => "zip",
        _ => "dir",
    };
    let dir = m.subs.join(&student);
    fx.materialize(&m.course.root, &dir)?;
    let notice = match variant {
        "tampered" => Some(
            tamper(&dir, &m.pinned.file_name, &m.spec_text).map_err(|message| ClassError::Lab {
                lab: fx.lab.clone(),
                message,
            })?,
        ),
        "disguised" => {
            disguise_tree(&dir).map_err(io(&dir))?;
            None
        }
        _ => fx.expect.notice.clone(),
    };
    pack(&m.subs, &student, packaging)?;
    let (score, points, status) = expected_row(&m.pinned.spec, fx);
    Ok(Expected {
        student,
        fixture: fx
            .dir
            .strip_prefix(&m.course.root)
            .unwrap_or(&fx.dir)
            .to_owned(),
        variant: variant.into(),
        packaging: packaging.into(),
        score,
        max_score: m.pinned.spec.max_score(),
        points,
        status: status.as_str().into(),
        notice,
    })
}

/// Tampered copies of the first full-marks fixture and of the skeleton; disguised copies
/// of every full-marks fixture.
fn extra_plan(fixtures: &[Fixture]) -> Vec<(&Fixture, &'static str)> {
    let full: Vec<&Fixture> = fixtures.iter().filter(|f| is_full(f)).collect();
    let mut plan = Vec::new();
    plan.extend(full.first().map(|f| (*f, "tampered")));
    plan.extend(
        fixtures
            .iter()
            .find(|f| f.name() == "skeleton")
            .map(|f| (f, "tampered")),
    );
    plan.extend(full.iter().map(|f| (*f, "disguised")));
    plan
}

/// Writes a copy of the spec that gives every scenario 50 points into the submission.
fn tamper(dir: &Path, file_name: &str, spec: &str) -> Result<String, String> {
    let re = regex::Regex::new(r"(?m)^(\s*(?:cleanup_)?points\s*=\s*)\d+").expect("static regex");
    let edited = re.replace_all(spec, "${1}50").into_owned();
    if edited == spec {
        return Err("its spec has no `points =` line to tamper with".into());
    }
    std::fs::write(dir.join(file_name), edited).map_err(|e| e.to_string())?;
    Ok("local copy was ignored".into())
}

/// Disguises every source file under `dir`: Rust and multi-file C reformatted, a
/// single-file C program also renamed (unless the renamed file does not compile).
fn disguise_tree(dir: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    sources(dir, &mut files)?;
    let single_c = files.iter().filter(|(_, l)| *l == Lang::C).count() == 1;
    for (path, lang) in files {
        let src = std::fs::read_to_string(&path)?;
        let renamed = (single_c && path.extension().is_some_and(|e| e == "c"))
            .then(|| super::disguise::rename_c(&src))
            .filter(|r| compiles_c(&path, r));
        std::fs::write(
            &path,
            renamed.unwrap_or_else(|| super::disguise::reformat(&src, lang)),
        )?;
    }
    Ok(())
}

fn sources(dir: &Path, out: &mut Vec<(PathBuf, Lang)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sources(&path, out)?;
        } else if let Some(lang) = Lang::of(&path) {
            out.push((path, lang));
        }
    }
    Ok(())
}

fn compiles_c(path: &Path, text: &str) -> bool {
    let probe = path.with_extension("probe.c");
    if std::fs::write(&probe, text).is_err() {
        return false;
    }
    let ok = Command::new("gcc")
        .arg("-fsyntax-only")
        .arg(&probe)
        .current_dir(path.parent().unwrap_or(Path::new(".")))
        .output();
    let _ = std::fs::remove_file(&probe);
    ok.is_ok_and(|o| o.status.success())
}

/// Packs `subs/STUDENT` as an archive (and removes the folder), or leaves it.
fn pack(subs: &Path, student: &str, packaging: &str) -> Result<(), ClassError> {
    // zip runs inside the student's directory: the archive's path must not be relative.
    let subs = &std::path::absolute(subs).map_err(io(subs))?;
    let mut cmd = match packaging {
        "tar.gz" => {
            let mut c = Command::new("tar");
            c.arg("-czf")
                .arg(format!("{student}.tar.gz"))
                .arg(student)
                .current_dir(subs);
            c
        }
        "zip" => {
            let mut c = Command::new("zip");
            c.arg("-qr")
                .arg(subs.join(format!("{student}.zip")))
                .arg(".")
                .current_dir(subs.join(student));
            c
        }
        _ => return Ok(()),
    };
    let ok = cmd.status().map_err(io(subs))?.success();
    if !ok {
        return Err(ClassError::Lab {
            lab: student.into(),
            message: format!("failed to pack as {packaging}"),
        });
    }
    std::fs::remove_dir_all(subs.join(student)).map_err(io(subs))
}

/// Loads `expected.json`.
pub fn load_expected(class_dir: &Path) -> Result<Vec<Expected>, ClassError> {
    let path = class_dir.join("expected.json");
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| ClassError::Expected {
        path,
        message: e.to_string(),
    })
}

/// Compares a results directory with the class's expectations: every gradebook row, and
/// every report against its fixture (statuses, messages, notices). Returns the mismatches.
pub fn check(course: &Course, class_dir: &Path, results: &Path) -> Result<Vec<String>, ClassError> {
    let expected = load_expected(class_dir)?;
    let gb_path = results.join("gradebook.csv");
    let text = std::fs::read_to_string(&gb_path).map_err(io(&gb_path))?;
    let rows: BTreeMap<String, BTreeMap<String, String>> = csv::records(&text)
        .into_iter()
        .map(|r| (r.get(csv::STUDENT).cloned().unwrap_or_default(), r))
        .collect();
    let mut bad = Vec::new();
    if rows.len() != expected.len() {
        bad.push(format!(
            "the gradebook has {} rows, the class {} students",
            rows.len(),
            expected.len()
        ));
    }
    for e in &expected {
        let Some(row) = rows.get(&e.student) else {
            bad.push(format!("{}: no gradebook row", e.student));
            continue;
        };
        bad.extend(compare_row(e, row).into_iter().map(|m| {
            format!(
                "{} ({}, {}): {m}",
                e.student,
                e.fixture.display(),
                e.variant
            )
        }));
        bad.extend(
            check_report(course, e, results)
                .into_iter()
                .map(|m| format!("{} report: {m}", e.student)),
        );
    }
    Ok(bad)
}

fn compare_row(e: &Expected, row: &BTreeMap<String, String>) -> Vec<String> {
    let mut want: Vec<(String, String)> = vec![
        (csv::SCORE.into(), e.score.to_string()),
        (csv::MAX_SCORE.into(), e.max_score.to_string()),
        (csv::STATUS.into(), e.status.clone()),
    ];
    want.extend(e.points.iter().map(|(k, v)| (k.clone(), v.to_string())));
    want.into_iter()
        .filter_map(|(col, val)| {
            let got = row.get(&col).map_or("<no column>", String::as_str);
            (got != val).then(|| format!("{col} = {got}, expected {val}"))
        })
        .collect()
}

fn check_report(course: &Course, e: &Expected, results: &Path) -> Vec<String> {
    let path = results
        .join("students")
        .join(&e.student)
        .join("report.json");
    let report: crate::report::GradeReport =
        match std::fs::read(&path).map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(r)) => r,
            Ok(Err(x)) => return vec![format!("unreadable {}: {x}", path.display())],
            Err(x) => return vec![format!("missing {}: {x}", path.display())],
        };
    let mut bad = match Fixture::load(&course.path(&e.fixture)) {
        Ok(fx) => fx.check(&report),
        Err(x) => vec![x.to_string()],
    };
    if let Some(n) = &e.notice {
        if !report.notices.iter().any(|x| x.contains(n.as_str())) {
            bad.push(format!("no notice contains {n:?}: {:?}", report.notices));
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_past_the_list() {
        let names: std::collections::BTreeSet<String> = (0..100).map(name).collect();
        assert_eq!(names.len(), 100);
        assert_eq!(name(NAMES.len()), format!("{}2", NAMES[0]));
    }

    #[test]
    fn tampering_inflates_every_points_line() {
        let dir = std::env::temp_dir().join(format!("grader-tamper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = "[[scenario]]\nname = \"a\"\npoints = 2\ncleanup_points = 1\n";
        tamper(&dir, "lab.toml", spec).unwrap();
        let text = std::fs::read_to_string(dir.join("lab.toml")).unwrap();
        assert_eq!(
            text,
            "[[scenario]]\nname = \"a\"\npoints = 50\ncleanup_points = 50\n"
        );
        assert!(tamper(&dir, "lab.toml", "nothing").is_err());
    }
}
