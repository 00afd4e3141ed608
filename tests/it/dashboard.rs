//! The dashboard of a generated class graded with `bulk` (the local backend: the pages are
//! what is tested here, not the guest), plus a student whose program prints markup
//! (`tests/dashboard/hostile-output`): its counts are the gradebook's, it is written again
//! from the results alone, and headless Chromium (Debian's, through the DevTools protocol;
//! a missing Chromium fails) renders both pages with no console error, no network request
//! and the hostile output as text. Screenshots: `target/dashboard-screenshots/*.png`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use grader::fixture::Fixture;
use grader::report::csv;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;

use crate::util::{gradebook, grader, root, tempdir, text};

/// The student whose output is markup.
const HOSTILE: &str = "zoe-hostile";
/// Where a person finds the screenshots.
fn screenshots() -> PathBuf {
    let d = root().join("target/dashboard-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Graded {
    results: PathBuf,
}

/// A class of 12 from `gen-class` and the hostile student, graded once with
/// `--similarity`, shared by the tests below.
fn graded() -> &'static Graded {
    static ONCE: OnceLock<Graded> = OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = crate::util::gen_class("dashboard-class", 12);
        let subs = dir.join("submissions");
        let fx = Fixture::load(&root().join("tests/dashboard/hostile-output")).unwrap();
        fx.materialize(&root(), &subs.join(HOSTILE)).unwrap();
        let results = dir.join("results");
        let args = crate::util::bulk_args(
            &subs,
            &results,
            "77",
            &["--backend", "local", "--similarity", "--quiet"],
        );
        let out = grader(&root(), &args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "bulk:\n{stdout}\n{stderr}");
        assert!(stdout.contains("dashboard: "), "{stdout}");
        let report = grader::bulk::store::Store {
            root: results.clone(),
        }
        .report(HOSTILE)
        .expect("the hostile student has a report");
        let bad = fx.check(&report);
        assert!(bad.is_empty(), "{HOSTILE}: {bad:?}");
        Graded { results }
    })
}

/// The gradebook's students per status (every status present, zeros included).
fn status_counts(results: &Path) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = grader::dashboard::stats::STATUSES
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    for r in gradebook(results).values() {
        *counts.get_mut(&r["status"]).expect("a known status") += 1;
    }
    counts
}

#[test]
fn dashboard_counts_are_the_gradebooks() {
    let g = graded();
    let html = std::fs::read_to_string(g.results.join("index.html")).unwrap();
    let re = regex::Regex::new(r#"data-status="([a-z_]+)" data-count="(\d+)""#).unwrap();
    let shown: BTreeMap<String, usize> = re
        .captures_iter(&html)
        .map(|c| (c[1].to_owned(), c[2].parse().unwrap()))
        .collect();
    let book = status_counts(&g.results);
    assert_eq!(shown, book, "the status cards against gradebook.csv");
    assert!(
        book["full_marks"] > 0 && book["points_lost"] > 0 && book["build_failed"] > 0,
        "the class has a mix: {book:?}"
    );
    for student in gradebook(&g.results).keys() {
        let page = g.results.join("students").join(student).join("report.html");
        assert!(page.is_file(), "{student} has a page");
    }
}

#[test]
fn dashboard_is_written_again_from_the_results_alone() {
    let g = graded();
    let copy = tempdir("dashboard-copy");
    let status = std::process::Command::new("cp")
        .args(["-r", g.results.to_str().unwrap(), copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(copy.join("index.html")).unwrap();
    std::fs::remove_file(copy.join("students").join(HOSTILE).join("report.html")).unwrap();
    // Run outside the course: the results directory is all it reads.
    let out = grader(&copy, &["dashboard", copy.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for page in ["index.html", &format!("students/{HOSTILE}/report.html")] {
        assert_eq!(
            std::fs::read(copy.join(page)).unwrap(),
            std::fs::read(g.results.join(page)).unwrap(),
            "{page} written again is the one bulk wrote"
        );
    }
}

/// What a page did while it loaded: console errors and exceptions, dialogs, requests.
#[derive(Default)]
struct Seen {
    errors: Vec<String>,
    requests: Vec<String>,
}

fn browser() -> Browser {
    let path = PathBuf::from("/usr/bin/chromium");
    assert!(
        path.exists(),
        "/usr/bin/chromium is missing: apt-get install chromium chromium-driver (scripts/setup-debian.sh)"
    );
    let opts = LaunchOptions::default_builder()
        .path(Some(path))
        .headless(true)
        // Root in a container has no user namespace for Chromium's sandbox; the pages are
        // ours and the network is watched.
        .sandbox(false)
        .window_size(Some((1280, 2000)))
        .build()
        .unwrap();
    Browser::new(opts).expect("headless Chromium starts")
}

/// Opens `file` in a new tab, recording what it logs and requests.
fn open(browser: &Browser, file: &Path) -> (Arc<Tab>, Arc<Mutex<Seen>>) {
    let tab = browser.new_tab().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sink = Arc::clone(&seen);
    tab.add_event_listener(Arc::new(move |e: &Event| record(&sink, e)))
        .unwrap();
    tab.enable_log().unwrap().enable_runtime().unwrap();
    tab.call_method(headless_chrome::protocol::cdp::Network::Enable {
        max_total_buffer_size: None,
        max_resource_buffer_size: None,
        max_post_data_size: None,
        enable_durable_messages: None,
        report_direct_socket_traffic: None,
    })
    .unwrap();
    let url = format!("file://{}", file.display());
    tab.navigate_to(&url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    (tab, seen)
}

fn record(seen: &Mutex<Seen>, e: &Event) {
    let mut s = seen.lock().unwrap();
    match e {
        Event::LogEntryAdded(x) => {
            let v = json(&x.params);
            if v["entry"]["level"] == "error" {
                s.errors.push(format!("log: {}", v["entry"]["text"]));
            }
        }
        Event::RuntimeConsoleAPICalled(x) => {
            let v = json(&x.params);
            if v["type"] == "error" || v["type"] == "assert" {
                s.errors
                    .push(format!("console.{}: {}", v["type"], v["args"]));
            }
        }
        Event::RuntimeExceptionThrown(x) => {
            s.errors.push(format!(
                "exception: {}",
                json(&x.params)["exceptionDetails"]
            ));
        }
        Event::PageJavascriptDialogOpening(x) => {
            s.errors
                .push(format!("a dialog opened: {}", json(&x.params)["message"]));
        }
        Event::NetworkRequestWillBeSent(x) => {
            let url = json(&x.params)["request"]["url"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            s.requests.push(url);
        }
        _ => {}
    }
}

/// Event parameters as JSON, whatever their generated type.
fn json<T: serde::Serialize>(params: &T) -> Value {
    serde_json::to_value(params).unwrap()
}

/// Evaluates an expression returning a JSON string, parsed.
fn eval(tab: &Tab, expr: &str) -> Value {
    let r = tab
        .evaluate(&format!("JSON.stringify({expr})"), false)
        .unwrap();
    let s = r.value.and_then(|v| v.as_str().map(String::from));
    serde_json::from_str(&s.unwrap_or_else(|| panic!("{expr} gave no value"))).unwrap()
}

/// The page made no request but its own document and logged no error.
fn assert_quiet(seen: &Mutex<Seen>, page: &Path) {
    let s = seen.lock().unwrap();
    assert!(s.errors.is_empty(), "{}: {:?}", page.display(), s.errors);
    let own = format!("file://{}", page.display());
    let others: Vec<&String> = s.requests.iter().filter(|u| **u != own).collect();
    assert!(others.is_empty(), "{} requested {others:?}", page.display());
}

/// A screenshot of the whole page (the window grown to its height) for a person to look at.
fn screenshot(tab: &Tab, name: &str) -> PathBuf {
    use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
    let height = eval(tab, "document.documentElement.scrollHeight")
        .as_f64()
        .unwrap();
    tab.set_bounds(headless_chrome::types::Bounds::Normal {
        left: None,
        top: None,
        width: Some(1280.0),
        height: Some(height + 100.0),
    })
    .unwrap();
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let path = screenshots().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}

const CLASS_DOM: &str = r#"{
  students: [...document.querySelectorAll('#student-table tbody tr')].map(r => r.dataset.student),
  statuses: Object.fromEntries([...document.querySelectorAll('#statuses .card')]
    .map(c => [c.dataset.status, Number(c.querySelector('.n').textContent)])),
  links: Object.fromEntries([...document.querySelectorAll('#statuses .card')]
    .map(c => [c.dataset.status, [...c.querySelectorAll('a.student')].map(a => a.textContent)])),
  bars: [...document.querySelectorAll('svg.histogram rect.bar')].map(b => Number(b.dataset.count)),
  scenarios: [...document.querySelectorAll('#scenario-table tr.scenario-row')]
    .map(r => [r.dataset.scenario, Number(r.dataset.passed), Number(r.dataset.graded)]),
  titles: [...document.querySelectorAll('#scenario-table tr.scenario-row span.muted')].length,
  pairs: document.querySelectorAll('#similarity-table tr.pair').length,
  scripts: document.scripts.length,
}"#;

/// The table sorted by score (a click on its header) reads in score order.
fn assert_sorts_by_score(tab: &Tab) {
    tab.find_element("#student-table th:nth-child(2) button")
        .unwrap()
        .click()
        .unwrap();
    let keys = eval(
        tab,
        "[...document.querySelectorAll('#student-table tbody tr td:nth-child(2)')].map(c => c.dataset.sort)",
    );
    let keys: Vec<i64> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().parse().unwrap_or(-1))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ascending by score after one click");
}

#[test]
fn dashboard_in_a_browser_shows_the_class_and_a_student_as_text() {
    let g = graded();
    let book = gradebook(&g.results);
    let browser = browser();
    let index = g.results.join("index.html");
    let (tab, seen) = open(&browser, &index);
    let dom = eval(&tab, CLASS_DOM);
    let students: Vec<&str> = dom["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        students,
        book.keys().map(String::as_str).collect::<Vec<_>>()
    );
    let statuses: BTreeMap<String, usize> =
        serde_json::from_value(dom["statuses"].clone()).unwrap();
    assert_eq!(statuses, status_counts(&g.results), "status cards");
    for (status, names) in dom["links"].as_object().unwrap() {
        assert_eq!(
            names.as_array().unwrap().len(),
            statuses[status],
            "{status} links"
        );
    }
    let scored = book.values().filter(|r| !r["score"].is_empty()).count();
    let bars: Vec<usize> = serde_json::from_value(dom["bars"].clone()).unwrap();
    assert_eq!(
        bars.iter().sum::<usize>(),
        scored,
        "the histogram's bars: {bars:?}"
    );
    let full = book
        .values()
        .filter(|r| r["status"] == "full_marks")
        .count();
    assert_eq!(*bars.last().unwrap(), full, "the last bar is full marks");
    let scenarios: Vec<(String, usize, usize)> =
        serde_json::from_value(dom["scenarios"].clone()).unwrap();
    let head = csv::parse(&std::fs::read_to_string(g.results.join("gradebook.csv")).unwrap());
    assert_eq!(
        scenarios.len(),
        head[0].len() - 5,
        "one row per scenario column"
    );
    let ratio = |(_, p, n): &(String, usize, usize)| *p as f64 / *n as f64;
    assert!(
        scenarios.windows(2).all(|w| ratio(&w[0]) <= ratio(&w[1])),
        "{scenarios:?}"
    );
    assert_eq!(
        scenarios[0].0, "ftok",
        "the hostile student fails ftok: {scenarios:?}"
    );
    assert_eq!(
        dom["titles"],
        scenarios.len(),
        "each scenario shows its title"
    );
    assert!(
        dom["pairs"].as_u64().unwrap() > 0,
        "--similarity found the disguised copies"
    );
    assert_eq!(dom["scripts"], 1, "the sorter is the only script");
    assert_sorts_by_score(&tab);
    screenshot(&tab, "index.png");
    assert_quiet(&seen, &index);
    student_page(&browser, &g.results);
}

fn student_page(browser: &Browser, results: &Path) {
    let page = results.join("students").join(HOSTILE).join("report.html");
    let (tab, seen) = open(browser, &page);
    let dom = eval(
        &tab,
        r#"{
      name: document.querySelector('h1').textContent,
      scenarios: [...document.querySelectorAll('.scenario')].map(s => [s.dataset.scenario, s.dataset.status]),
      stdout: [...document.querySelectorAll('pre.output-stdout')].map(p => p.textContent),
      log: document.querySelector('#build-log').textContent,
      scripts: document.scripts.length,
      images: document.images.length,
    }"#,
    );
    assert_eq!(dom["name"], HOSTILE);
    let scenarios = dom["scenarios"].as_array().unwrap();
    assert!(scenarios.len() > 5, "{scenarios:?}");
    for s in scenarios {
        let want = if s[0] == "ftok" { "failed" } else { "passed" };
        assert_eq!(s[1], want, "{s}");
    }
    let stdout = dom["stdout"].to_string();
    assert!(stdout.contains("<script>alert(1)</script>"), "{stdout}");
    assert!(stdout.contains("<img src=x onerror=alert(2)>"), "{stdout}");
    let log = dom["log"].as_str().unwrap();
    assert!(log.contains("<script>alert('build log')</script>"), "{log}");
    assert_eq!(
        (dom["scripts"].clone(), dom["images"].clone()),
        (0.into(), 0.into())
    );
    screenshot(&tab, "student.png");
    assert_quiet(&seen, &page);
}

/// A class of 300: the graded class's results, each student's report copied under new
/// names round-robin. Prints the class page's size and time to open (a measurement, not
/// an assertion: the machine may be busy); the size must stay under 2 MB.
#[test]
fn dashboard_of_300_students_is_small_and_quick() {
    let g = graded();
    let big = tempdir("dashboard-300");
    let store = grader::bulk::store::Store { root: big.clone() };
    std::fs::create_dir_all(&big).unwrap();
    std::fs::copy(g.results.join("bulk.json"), big.join("bulk.json")).unwrap();
    let from = grader::bulk::store::Store {
        root: g.results.clone(),
    };
    let names: Vec<String> = gradebook(&g.results).into_keys().collect();
    let mut rows = Vec::new();
    for i in 0..300 {
        let src = &names[i % names.len()];
        let (report, mut done) = (from.report(src).unwrap(), from.done(src).unwrap());
        done.student = format!("student-{i:03}");
        store.save(&report, &done).unwrap();
        rows.push(csv::GradebookRow::from_report(&done.student, &report));
    }
    let scenarios: Vec<String> = from
        .report(&names[0])
        .unwrap()
        .tests
        .iter()
        .map(|t| t.name.clone())
        .collect();
    store.write_gradebook(&rows, &scenarios).unwrap();
    let start = Instant::now();
    let out = grader(&root(), &["dashboard", big.to_str().unwrap()]);
    let rendered = start.elapsed();
    assert!(out.status.success(), "{:?}", text(&out));
    let index = big.join("index.html");
    let bytes = std::fs::metadata(&index).unwrap().len();
    let browser = browser();
    let (tab, seen) = open(&browser, &index);
    let timing = eval(
        &tab,
        "(() => { const n = performance.getEntriesByType('navigation')[0]; \
         return { load: n.loadEventEnd, dom: n.domContentLoadedEventEnd, rows: document.querySelectorAll('#student-table tbody tr').length }; })()",
    );
    assert_eq!(timing["rows"], 300);
    assert_quiet(&seen, &index);
    eprintln!(
        "dashboard of 300 students: index.html {:.0} KiB, written with 300 student pages in {} ms; \
         Chromium: DOMContentLoaded at {:.0} ms, load at {:.0} ms",
        bytes as f64 / 1024.0,
        rendered.as_millis(),
        timing["dom"].as_f64().unwrap(),
        timing["load"].as_f64().unwrap()
    );
    assert!(bytes < 2_000_000, "index.html weighs {bytes} bytes");
}
