//! Scenario labs (labs 1–6): load the pinned spec, draw the parameters, build the
//! submission, run the compiled scenarios in a sandbox through the agent, and score what
//! the agent observed into a [`GradeReport`].

use std::time::Instant;

use crate::build::{self, BuildOutput, BuildRequest, Language};
use crate::course::{Course, LabEntry, LabKind};
use crate::events::{self, Event, Phase, Subscriber};
use crate::lab::{fresh_seed, local_spec_notice, GradeError, GradeOptions, LabKindSpec, LoadedLab};
use crate::protocol::{AgentEvent, Job, Perturbation, ScenarioResult};
use crate::report::hints::ScenarioHints;
use crate::report::{BuildInfo, GradeReport};
use crate::sandbox::{Sandbox, SandboxRun};
use crate::score::{self, Status, TestResult};
use crate::spec::{compile, params, LabSpec, ScenarioSpec};
use crate::timings::Deadlines;

/// A scenario lab's spec, verified against its pin.
pub type PinnedSpec = crate::lab::Pinned<LabSpec>;

/// Loads the course's spec for a scenario lab and checks its pin.
pub fn load_spec(course: &Course, lab: &LabEntry) -> Result<PinnedSpec, GradeError> {
    Ok(crate::lab::load_pinned(course, lab, LabSpec::load)?)
}

/// A scenario lab of a course, its spec pinned.
pub type IpcLab = LoadedLab<LabSpec>;

impl IpcLab {
    fn spec_error(&self, message: String) -> GradeError {
        crate::config::ConfigError::Invalid {
            path: self.course.path(&self.lab.spec),
            message,
        }
        .into()
    }

    fn build(&self, opts: &GradeOptions) -> Result<BuildOutput, build::BuildError> {
        // The lab's other skeletons (the C one inside the Rust crate) are not this build's.
        let inside = self
            .lab
            .skeletons_inside(&self.course.root, &opts.submission);
        let mut skip = vec![self.pinned.file_name.as_str()];
        skip.extend(inside.iter().map(String::as_str));
        build::build(&BuildRequest {
            submission: &opts.submission,
            programs: &self.pinned.spec.programs,
            work: &opts.work.join("build"),
            skip: &skip,
            host: &opts.build,
        })
    }

    /// The agent's job: every scenario compiled for this sandbox, its deadline the one
    /// calibrated from the reference solutions' times (see [`crate::timings`]) unless the
    /// options ask for the spec's.
    fn job(
        &self,
        sandbox: &dyn Sandbox,
        vars: &crate::config::Vars,
        opts: &GradeOptions,
        deadlines: &Deadlines,
    ) -> Result<Job, GradeError> {
        let spec = &self.pinned.spec;
        let target = compile::Target {
            bin_dir: &sandbox.bin_dir(),
            timeout_scale: sandbox.timeout_scale(),
        };
        let mut scenarios: Vec<crate::protocol::ScenarioJob> = spec
            .scenarios
            .iter()
            .map(|s| compile::scenario(spec, s, vars, &target))
            .collect::<Result<_, _>>()
            .map_err(|message| self.spec_error(message))?;
        if !opts.spec_deadlines {
            for s in &mut scenarios {
                deadlines.apply(s, sandbox.backend(), opts.perturb);
            }
        }
        Ok(Job {
            lab: self.lab.id.clone(),
            bin_dir: sandbox.bin_dir(),
            scenarios,
            limits: self.course.limits.to_limits(),
            run_as: sandbox.run_as(),
            perturb: None,
            parallel: sandbox.parallel(),
        })
    }

    /// Scores the agent's observations; `Err` says why the run is not gradable.
    fn score(
        &self,
        job: &Job,
        run: &SandboxRun,
        vars: &crate::config::Vars,
        events: &mut dyn Subscriber,
    ) -> Result<Vec<TestResult>, String> {
        let results =
            collect_results(&run.events).map_err(|reason| format!("{reason}{}", run.log_tail()))?;
        if let Some(missing) = job
            .scenarios
            .iter()
            .find(|s| !results.iter().any(|r| r.name == s.name))
        {
            return Err(format!(
                "the sandbox stopped before reporting scenario `{}`{}",
                missing.name,
                run.log_tail()
            ));
        }
        let spec = &self.pinned.spec;
        let tests = job.scenarios.iter().map(|j| {
            let s = spec
                .scenarios
                .iter()
                .find(|s| s.name == j.name)
                .expect("the job's scenarios come from the spec");
            let r = results
                .iter()
                .find(|r| r.name == s.name)
                .expect("checked above");
            let result = score::evaluate(s, &j.steps, r, vars);
            events.event(&Event::Scored { result: &result });
            result
        });
        Ok(tests.collect())
    }
}

impl LabKindSpec for LabSpec {
    const KIND: LabKind = LabKind::Ipc;
    const ENGINE: &'static str = "scenarios";

    fn load(path: &std::path::Path) -> Result<(LabSpec, String), crate::config::ConfigError> {
        LabSpec::load(path)
    }

    fn max_points(&self) -> u32 {
        self.max_score()
    }

    fn test_names(&self) -> Vec<String> {
        self.scenarios.iter().map(|s| s.name.clone()).collect()
    }

    fn outline(&self) -> String {
        format!("{} scenarios", self.scenarios.len())
    }

    fn hints(&self) -> Vec<ScenarioHints> {
        let hints = self.scenarios.iter().map(|s| ScenarioHints {
            name: s.name.clone(),
            title: s.title.clone(),
            levels: s.hint_levels().into_iter().map(String::from).collect(),
        });
        hints.collect()
    }

    fn grade(
        lab: &IpcLab,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        events: &mut dyn Subscriber,
    ) -> Result<GradeReport, GradeError> {
        lab.grade_in(sandbox, opts, events)
    }
}

impl IpcLab {
    /// A report with the run's parameters and the notice about a local spec copy.
    fn start_report(
        &self,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        seed: u64,
        vars: &crate::config::Vars,
    ) -> GradeReport {
        let pinned = &self.pinned;
        let (submission, sha) = (&opts.submission, &pinned.sha256);
        let max = pinned.spec.max_score();
        let mut report =
            GradeReport::start(&self.lab, submission, sandbox.backend(), seed, max, sha);
        report.params = vars.clone();
        let local = local_spec_notice(submission, &pinned.file_name, sha);
        report.notices.extend(local);
        report.notices.extend(opts.build.confinement.notice());
        report
    }

    /// See [`crate::lab::LabEngine::grade`].
    fn grade_in(
        &self,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        events: &mut dyn Subscriber,
    ) -> Result<GradeReport, GradeError> {
        let start = Instant::now();
        let seed = opts.seed.unwrap_or_else(fresh_seed);
        let vars = params::draw(&self.pinned.spec.params, seed)
            .map_err(|message| self.spec_error(message))?;
        let mut report = self.start_report(sandbox, opts, seed, &vars);
        // The guest restores on the other core while the build runs.
        sandbox.prestart();
        events::phase(events, Phase::Build, "building");
        let built = match self.build(opts) {
            Ok(b) => b,
            Err(e) => {
                return Ok(
                    report.not_gradable(format!("the build could not run: {e}"), start.elapsed())
                )
            }
        };
        record_build(&mut report, &built);
        // The scenarios that run a program that was not built fail with its messages;
        // the others are graded.
        let spec = &self.pinned.spec;
        let unrunnable: Vec<Option<TestResult>> =
            spec.scenarios.iter().map(|s| unbuilt(s, &built)).collect();
        if unrunnable.iter().all(Option::is_some) {
            report.tests = unrunnable.into_iter().flatten().collect();
            return Ok(finish(report, start));
        }
        let load = crate::timings::host_load_factor();
        let deadlines = Deadlines::load(&self.course.path(&self.lab.spec), &self.pinned.sha256)?
            .stretched(load);
        report.notices.extend(deadlines.notice.clone());
        if load > 1.0 && deadlines.timings.is_some() {
            report.deadline_stretch = Some((load * 10.0).round() / 10.0);
        }
        let mut job = self.job(sandbox, &vars, opts, &deadlines)?;
        job.scenarios = job
            .scenarios
            .into_iter()
            .zip(&unrunnable)
            .filter(|(_, u)| u.is_none())
            .map(|(j, _)| j)
            .collect();
        job.perturb = opts.perturb.then(|| Perturbation::with_seed(seed));
        report.perturbation = job.perturb;
        events::phase(events, Phase::Scenarios, sandbox.phase_name());
        let run = match sandbox.run(&job, &built.programs, &opts.work) {
            Ok(r) => r,
            Err(e) => return Ok(report.not_gradable(e.to_string(), start.elapsed())),
        };
        report.guest_ms = run.guest_ms;
        report.guest_start = run.guest_start;
        report.guest_phases = run.guest_phases.clone();
        report.notices.extend(run.notices.iter().cloned());
        match self.score(&job, &run, &vars, events) {
            Ok(tests) => report.tests = merge(tests, unrunnable),
            Err(reason) => return Ok(report.not_gradable(reason, start.elapsed())),
        }
        notice_errors(&mut report);
        Ok(finish(report, start))
    }
}

/// The build's outcome in the report.
fn record_build(report: &mut GradeReport, built: &BuildOutput) {
    report.language = built.language;
    report.build = BuildInfo {
        ok: built.ok,
        log: built.log.clone(),
        duration_ms: built.duration.as_millis() as u64,
        built: built.programs.iter().map(|(p, _)| p.clone()).collect(),
        failed: built.failed.clone(),
    };
}

/// Totals and times a report.
fn finish(mut report: GradeReport, start: Instant) -> GradeReport {
    report.total();
    report.duration_ms = start.elapsed().as_millis() as u64;
    report
}

/// Scenarios the grader could not run are named in a notice.
fn notice_errors(report: &mut GradeReport) {
    let bad: Vec<&str> = report
        .tests
        .iter()
        .filter(|t| t.status == Status::Error)
        .map(|t| t.name.as_str())
        .collect();
    if !bad.is_empty() {
        let text = format!(
            "scenario(s) {} could not be run by the grader; they are reported as errors",
            bad.join(", ")
        );
        report.notices.push(text);
    }
}

/// The graded scenarios and the unrunnable ones, back in spec order.
fn merge(graded: Vec<TestResult>, unrunnable: Vec<Option<TestResult>>) -> Vec<TestResult> {
    let mut graded = graded.into_iter();
    unrunnable
        .into_iter()
        .filter_map(|u| u.or_else(|| graded.next()))
        .collect()
}

/// The failed result of a scenario that runs a program the build did not produce
/// (`None`: every program it runs was built).
fn unbuilt(s: &ScenarioSpec, built: &BuildOutput) -> Option<TestResult> {
    let (program, why) = s
        .programs()
        .into_iter()
        .find_map(|p| built.failure(p).map(|why| (p, why)))?;
    let message = match built.language {
        Some(Language::Rust) if why.starts_with("the crate did not compile") => {
            "the crate did not compile: see the compiler's message above (build.log)".to_string()
        }
        None => why.to_string(),
        Some(_) => format!(
            "`{program}` was not built, and this scenario runs it: {}",
            compiler_gist(why)
        ),
    };
    Some(TestResult {
        name: s.name.clone(),
        title: s.title.clone(),
        status: Status::Failed,
        score: 0,
        max_score: s.max_points(),
        message,
        hint: None,
        hints: Vec::new(),
        hint_levels: 0,
        duration_ms: 0,
        cpu_ms: 0,
        leaks: Vec::new(),
        output: None,
        steps: Vec::new(),
    })
}

/// The first errors of a program's compiler messages (three lines at most), or the
/// grader's own explanation when there is no compiler error.
fn compiler_gist(why: &str) -> String {
    let errors: Vec<&str> = why
        .lines()
        .filter(|l| l.contains("error") || l.contains("undefined reference"))
        .take(3)
        .collect();
    let lines = if errors.is_empty() {
        why.lines()
            .filter(|l| !l.starts_with('$') && !l.trim().is_empty())
            .take(3)
            .collect()
    } else {
        errors
    };
    let text = lines.join(" / ");
    let text = text.trim_start_matches("grader: ");
    if text.is_empty() {
        "its build step failed (see build.log)".into()
    } else {
        text.to_string()
    }
}

/// Extracts scenario results from the agent's events; `Err` when the agent failed as a whole.
pub fn collect_results(events: &[AgentEvent]) -> Result<Vec<ScenarioResult>, String> {
    if let Some(AgentEvent::Fatal { message }) = events
        .iter()
        .find(|e| matches!(e, AgentEvent::Fatal { .. }))
    {
        return Err(format!("the agent failed: {message}"));
    }
    if !events.iter().any(|e| matches!(e, AgentEvent::Hello { .. })) {
        return Err("the agent never started (no hello on the results channel)".into());
    }
    Ok(events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Scenario(r) => Some(r.as_ref().clone()),
            _ => None,
        })
        .collect())
}
