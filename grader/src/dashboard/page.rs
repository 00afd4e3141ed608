//! What both pages share: the document around them (inline style, a Content Security
//! Policy that lets the page fetch nothing and run no script but its own), the verdict
//! and status badges, durations.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

use crate::report::csv::RowStatus;
use crate::score::Status;

/// The style of both pages (screen and print).
pub const CSS: &str = include_str!("page.css");

/// A whole page. `script` is the page's only script (inline, allowed by its hash); every
/// other script, and every fetch of anything, is refused by the policy.
pub fn document(title: &str, script: Option<&str>, body: Markup) -> Markup {
    let script_src = match script {
        Some(js) => format!("'sha256-{}'", base64(&Sha256::digest(js.as_bytes()))),
        None => "'none'".into(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
         script-src {script_src}; base-uri 'none'; form-action 'none'"
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(csp);
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (body)
                @if let Some(js) = script {
                    script { (PreEscaped(js)) }
                }
            }
        }
    }
}

/// Standard base64 (for the script's hash in the policy).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A scenario's verdict as a badge.
pub fn verdict(status: Status) -> Markup {
    let word = match status {
        Status::Passed => "PASS",
        Status::Failed => "FAIL",
        Status::Timeout => "TIME",
        Status::Crashed => "CRASH",
        Status::Error => "ERROR",
    };
    html! { span class={ "badge v-" (status.as_str()) } { (word) } }
}

/// A student's status as a badge.
pub fn status(s: RowStatus) -> Markup {
    html! { span class={ "badge s-" (s.as_str()) } { (super::stats::status_label(s)) } }
}

/// Milliseconds as seconds, one decimal.
pub fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn a_page_without_a_script_may_run_none() {
        let page = document("t", None, html! { p { "x" } }).into_string();
        assert!(page.contains("script-src 'none'"), "{page}");
        assert!(!page.contains("<script"), "{page}");
        let js = "console.log(1)";
        let page = document("t", Some(js), html! {}).into_string();
        let hash = base64(&Sha256::digest(js.as_bytes()));
        assert!(
            page.contains(&format!("script-src 'sha256-{hash}'")),
            "{page}"
        );
    }
}
