//! The mini shell's command language: blank-separated words, the operators `<`, `>`, `>>`
//! and `|` (recognised even when glued to a word), and the builtins `cd [DIR]` and
//! `exit [N]`. No quoting, no variables, no globbing.

use std::fmt;

/// An output redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The file.
    pub path: String,
    /// `>>` (append) rather than `>` (truncate).
    pub append: bool,
}

/// One command of a pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// The words: program then arguments (never empty).
    pub argv: Vec<String>,
    /// `< FILE` (the last one wins).
    pub input: Option<String>,
    /// `> FILE` or `>> FILE` (the last one wins).
    pub output: Option<Redirect>,
}

/// Commands joined by `|`: each one's stdout feeds the next one's stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// At least one command.
    pub commands: Vec<Command>,
}

/// What one input line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Nothing (blank line).
    Empty,
    /// `cd [DIR]`: change the shell's own directory (`None`: `$HOME`).
    Cd(Option<String>),
    /// `exit [N]`: end the shell with status N (0 when omitted).
    Exit(i32),
    /// Run a pipeline of external commands.
    Run(Pipeline),
}

/// A line the shell cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// An operator where a word was needed (or the line ended too early).
    UnexpectedToken(String),
    /// `exit` with something that is not a number.
    BadExitStatus(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnexpectedToken(t) => write!(f, "syntax error near `{t}'"),
            ParseError::BadExitStatus(s) => write!(f, "exit: {s}: numeric argument required"),
        }
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Pipe,
    In,
    Out,
    Append,
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::Word(w) => w,
            Token::Pipe => "|",
            Token::In => "<",
            Token::Out => ">",
            Token::Append => ">>",
        }
    }
}

fn tokenize(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '|' => tokens.push(Token::Pipe),
            '<' => tokens.push(Token::In),
            '>' if chars.peek() == Some(&'>') => {
                chars.next();
                tokens.push(Token::Append);
            }
            '>' => tokens.push(Token::Out),
            c => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "|<>".contains(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    tokens
}

/// Parses one input line.
pub fn parse_line(line: &str) -> Result<Line, ParseError> {
    let tokens = tokenize(line);
    if tokens.is_empty() {
        return Ok(Line::Empty);
    }
    let pipeline = parse_pipeline(tokens)?;
    if let [only] = pipeline.commands.as_slice() {
        match only.argv[0].as_str() {
            "cd" => return Ok(Line::Cd(only.argv.get(1).cloned())),
            "exit" => return parse_exit(only.argv.get(1)),
            _ => {}
        }
    }
    Ok(Line::Run(pipeline))
}

fn parse_exit(arg: Option<&String>) -> Result<Line, ParseError> {
    match arg {
        None => Ok(Line::Exit(0)),
        Some(s) => s
            .parse()
            .map(Line::Exit)
            .map_err(|_| ParseError::BadExitStatus(s.clone())),
    }
}

fn parse_pipeline(tokens: Vec<Token>) -> Result<Pipeline, ParseError> {
    let mut commands = Vec::new();
    let mut current = Command::default();
    let mut it = tokens.into_iter();
    while let Some(t) = it.next() {
        match t {
            Token::Word(w) => current.argv.push(w),
            Token::Pipe if current.argv.is_empty() => {
                return Err(ParseError::UnexpectedToken("|".into()))
            }
            Token::Pipe => commands.push(std::mem::take(&mut current)),
            op => {
                let path = match it.next() {
                    Some(Token::Word(w)) => w,
                    Some(other) => return Err(ParseError::UnexpectedToken(other.text().into())),
                    None => return Err(ParseError::UnexpectedToken("newline".into())),
                };
                match op {
                    Token::In => current.input = Some(path),
                    _ => {
                        current.output = Some(Redirect {
                            path,
                            append: op == Token::Append,
                        })
                    }
                }
            }
        }
    }
    if current.argv.is_empty() {
        return Err(ParseError::UnexpectedToken("newline".into()));
    }
    commands.push(current);
    Ok(Pipeline { commands })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Pipeline {
        match parse_line(line).unwrap() {
            Line::Run(p) => p,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn words_and_redirections() {
        let p = run("sort -r < in.txt > out.txt");
        assert_eq!(p.commands.len(), 1);
        let c = &p.commands[0];
        assert_eq!(c.argv, ["sort", "-r"]);
        assert_eq!(c.input.as_deref(), Some("in.txt"));
        assert_eq!(
            c.output,
            Some(Redirect {
                path: "out.txt".into(),
                append: false
            })
        );
    }

    #[test]
    fn operators_glued_to_words_are_split() {
        let p = run("cat<in.txt|tr a-z A-Z>>log");
        assert_eq!(p.commands.len(), 2);
        assert_eq!(p.commands[0].input.as_deref(), Some("in.txt"));
        assert_eq!(p.commands[1].argv, ["tr", "a-z", "A-Z"]);
        assert_eq!(
            p.commands[1].output,
            Some(Redirect {
                path: "log".into(),
                append: true
            })
        );
    }

    #[test]
    fn long_pipelines_keep_their_order() {
        let p = run("cat f | sort | uniq -c | sort -rn | head -n 1");
        let names: Vec<&str> = p.commands.iter().map(|c| c.argv[0].as_str()).collect();
        assert_eq!(names, ["cat", "sort", "uniq", "sort", "head"]);
    }

    #[test]
    fn builtins_blank_lines_and_errors() {
        assert_eq!(parse_line("  \t").unwrap(), Line::Empty);
        assert_eq!(
            parse_line("cd /tmp").unwrap(),
            Line::Cd(Some("/tmp".into()))
        );
        assert_eq!(parse_line("cd").unwrap(), Line::Cd(None));
        assert_eq!(parse_line("exit 42").unwrap(), Line::Exit(42));
        assert_eq!(parse_line("exit").unwrap(), Line::Exit(0));
        assert_eq!(
            parse_line("exit x").unwrap_err().to_string(),
            "exit: x: numeric argument required"
        );
        assert_eq!(
            parse_line("| ls").unwrap_err().to_string(),
            "syntax error near `|'"
        );
        assert_eq!(
            parse_line("ls >").unwrap_err().to_string(),
            "syntax error near `newline'"
        );
        assert_eq!(
            parse_line("ls > | x").unwrap_err().to_string(),
            "syntax error near `|'"
        );
        assert_eq!(
            parse_line("ls |").unwrap_err().to_string(),
            "syntax error near `newline'"
        );
        // `exit` inside a pipeline is not the builtin.
        assert_eq!(run("exit 3 | cat").commands.len(), 2);
    }
}
