//! What a student copying a submission does to hide it, done to a generated class so the
//! similarity report can be tested: comments dropped, indentation changed, and (in C) the
//! names the file declares renamed. Works on tokens, so strings and directives are never
//! touched; the caller checks the result still compiles.

use std::collections::BTreeSet;

use crate::similarity::{tokenize, Lang, TokKind, Token};

/// C type words after which a name is being declared.
const C_TYPES: &[&str] = &[
    "int", "long", "char", "short", "unsigned", "signed", "double", "float", "void", "size_t",
    "ssize_t", "key_t", "pid_t", "off_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "int8_t",
    "int16_t", "int32_t", "int64_t", "FILE",
];

fn text<'a>(src: &'a str, t: &Token) -> &'a str {
    &src[t.start..t.end]
}

/// Rewrites `src` token by token: `rename` picks each identifier's new text, and the
/// white space and comments between tokens are replaced (comments dropped, indentation
/// in tabs, at most one blank line).
fn rewrite(src: &str, toks: &[Token], rename: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(src.len());
    let mut prev_end = 0;
    for t in toks {
        out.push_str(&gap(&src[prev_end..t.start], prev_end == 0));
        let word = text(src, t);
        match (t.kind, rename(word)) {
            (TokKind::Ident, Some(new)) => out.push_str(&new),
            _ => out.push_str(word),
        }
        prev_end = t.end;
    }
    out.push('\n');
    out
}

/// The replacement for the trivia between two tokens.
fn gap(trivia: &str, first: bool) -> String {
    let newlines = trivia.matches('\n').count();
    if first {
        return String::new();
    }
    if newlines == 0 {
        return if trivia.is_empty() {
            String::new()
        } else {
            " ".into()
        };
    }
    let indent = trivia.rsplit('\n').next().unwrap_or("");
    // Only a pure-whitespace last line is indentation (else a comment ended there).
    let cols = if indent.chars().all(|c| c == ' ' || c == '\t') {
        indent
            .chars()
            .map(|c| if c == '\t' { 4 } else { 1 })
            .sum::<usize>()
    } else {
        0
    };
    let blank = if newlines > 1 { "\n" } else { "" };
    format!("{blank}\n{}{}", "\t".repeat(cols / 4), " ".repeat(cols % 4))
}

/// Comments dropped, indentation re-done.
pub fn reformat(src: &str, lang: Lang) -> String {
    rewrite(src, &tokenize(src, lang), &|_| None)
}

/// The names a C file declares: an identifier right after a type word (or `struct X`, or
/// pointer stars) and before `;`, `=`, `,`, `(`, `[` or `)`. `main`, and names a
/// preprocessor line mentions, are left alone.
pub fn declared_c_names(src: &str) -> BTreeSet<String> {
    let toks = tokenize(src, Lang::C);
    let directives: Vec<&str> = toks
        .iter()
        .filter(|t| t.kind == TokKind::Directive)
        .map(|t| text(src, t))
        .collect();
    let mut names = BTreeSet::new();
    for (i, t) in toks.iter().enumerate().skip(1) {
        let next = toks.get(i + 1).map(|n| text(src, n)).unwrap_or("");
        if t.kind != TokKind::Ident || ![";", "=", ",", "(", "[", ")"].contains(&next) {
            continue;
        }
        let mut j = i - 1;
        while j > 0 && (text(src, &toks[j]) == "*" || text(src, &toks[j]) == "const") {
            j -= 1;
        }
        let before = text(src, &toks[j]);
        let after_struct =
            j > 0 && text(src, &toks[j - 1]) == "struct" && toks[j].kind == TokKind::Ident;
        if C_TYPES.contains(&before) || after_struct {
            names.insert(text(src, t).to_string());
        }
    }
    names.remove("main");
    names.retain(|n| {
        !directives.iter().any(|d| {
            d.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == n)
        })
    });
    names
}

/// C with its declared names renamed, then reformatted.
pub fn rename_c(src: &str) -> String {
    let names = declared_c_names(src);
    rewrite(src, &tokenize(src, Lang::C), &|w| {
        names.contains(w).then(|| format!("my_{w}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "#include <stdio.h>\n#define LIMIT 10\nstruct pair { long left; char name[LIMIT]; };\n\n\n/* sum */\nstatic int add(int a, const int *b)\n{\n    int total = a + *b; // add\n    return total;\n}\nint main(void)\n{\n    struct pair p;\n    int LIMITED = 1;\n    p.left = add(1, &LIMITED);\n    printf(\"total %ld\\n\", p.left);\n    return 0;\n}\n";

    #[test]
    fn declared_names_are_found_and_main_is_kept() {
        let names = declared_c_names(SRC);
        let want: BTreeSet<String> = ["LIMITED", "a", "add", "b", "left", "name", "p", "total"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, want);
    }

    #[test]
    fn renaming_keeps_strings_and_directives_and_drops_comments() {
        let out = rename_c(SRC);
        assert!(out.contains("#define LIMIT 10"), "{out}");
        assert!(
            out.contains("printf(\"total %ld\\n\", my_p.my_left)"),
            "{out}"
        );
        assert!(
            out.contains("static int my_add(int my_a, const int *my_b)"),
            "{out}"
        );
        assert!(out.contains("\n\tint my_total = my_a + *my_b;"), "{out}");
        assert!(!out.contains("sum") && !out.contains("// add"), "{out}");
        assert!(!out.contains("\n\n\n"), "{out}");
    }

    #[test]
    fn the_renamed_program_still_compiles() {
        let dir = std::env::temp_dir().join(format!("grader-disguise-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.c");
        std::fs::write(&file, rename_c(SRC)).unwrap();
        let st = std::process::Command::new("gcc")
            .args(["-fsyntax-only", "-Wall", "-Werror"])
            .arg(&file)
            .status()
            .unwrap();
        assert!(st.success());
    }
}
