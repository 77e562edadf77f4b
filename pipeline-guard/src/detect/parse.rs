//! Tolerant structural layer over POSIX/bash shell text.
//!
//! It delimits words, operators (`|`, `|&`, `&&`, `||`, `;`, `&`, newlines), subshells,
//! command substitutions (`$(…)`, backticks), process substitutions (`<(…)`, `>(…)`),
//! redirections, heredocs (`<<`, `<<-`, quoted delimiters), here-strings, comments and
//! line continuations. Quote removal inside a word is delegated to `shlex`. It never
//! fails and always makes progress: unknown or malformed syntax degrades to plain words.

/// Maximum nesting of substitutions and subshells; deeper text is kept as plain words.
const MAX_DEPTH: usize = 48;

/// How deep, and over how many bytes, substitutions inside `$((…))` and `${…}` are read.
const NESTED_DEPTH: usize = 4;
const NESTED_BYTES: usize = 16 * 1024;

/// Reserved characters marking a substitution inside a word while `shlex` unquotes it.
const SENT_OPEN: char = '\u{E000}';
const SENT_CLOSE: char = '\u{E001}';

/// What kind of substitution a [`Subst`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubstKind {
    /// `$(…)` or backticks: the output becomes (part of) the word.
    Command,
    /// `<(…)` or `>(…)`: the word becomes a file name (`/dev/fd/N`).
    Process,
}

/// A substitution inside a word, with its body parsed.
#[derive(Debug, Clone)]
pub(crate) struct Subst {
    pub kind: SubstKind,
    /// The substitution as written, delimiters included.
    pub raw: String,
    pub body: Vec<Pipeline>,
}

/// One shell word.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    /// As written.
    pub raw: String,
    /// After quote removal; substitutions appear as their raw text.
    pub value: String,
    /// Absolute byte offset of the word's start.
    pub start: usize,
    pub subs: Vec<Subst>,
}

/// A redirection such as `> f`, `2>&1`, `<<EOF` or `<<< "text"`.
#[derive(Debug, Clone)]
pub(crate) struct Redirect {
    /// The operator without its file-descriptor number (`>`, `>>`, `<`, `<<`, `<<<`, …).
    pub op: String,
    /// File-descriptor number written before the operator, if any.
    pub fd: Option<u32>,
    pub target: Option<Word>,
    /// Index into [`Parsed::heredocs`] for `<<` and `<<-`.
    pub heredoc: Option<usize>,
}

/// A simple command, or a compound one (subshell) when `compound` is not empty.
#[derive(Debug, Clone, Default)]
pub(crate) struct Command {
    /// Leading `NAME=value` words (`FOO=1 cmd`): environment for the command, not
    /// the command. Their substitutions still run.
    pub assignments: Vec<Word>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    pub compound: Vec<Pipeline>,
    /// Absolute byte offset where the command starts.
    pub start: usize,
    /// The command as written (trimmed).
    pub text: String,
    /// It starts with the `}` that closes a `{ …; }` group (so its redirections are
    /// the group's).
    pub closes_group: bool,
}

/// Commands joined by `|`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pipeline {
    pub commands: Vec<Command>,
    pub text: String,
}

/// A heredoc body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heredoc {
    pub body: String,
    /// Absolute byte offset of the body's first character.
    pub start: usize,
}

/// A parsed script: pipelines in source order, and the heredoc arena they refer to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    pub pipelines: Vec<Pipeline>,
    pub heredocs: Vec<Heredoc>,
}

/// Parses shell text. Offsets are relative to `text`.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut p = Parser::new(text, 0, 0, 0);
    let pipelines = p.parse_list(false);
    Parsed {
        pipelines,
        heredocs: p.heredocs,
    }
}

/// Splits `text` into words like a shell would (no operators), for `env -S`. Total.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    shlex::split(text).unwrap_or_else(|| text.split_whitespace().map(str::to_string).collect())
}

/// Maps byte offsets to line numbers.
pub(crate) struct LineIndex {
    newlines: Vec<usize>,
    first_line: usize,
}

impl LineIndex {
    pub(crate) fn new(text: &str, first_line: usize) -> Self {
        let newlines = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i)
            .collect();
        LineIndex {
            newlines,
            first_line,
        }
    }

    /// The line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.first_line + self.newlines.partition_point(|&n| n < offset)
    }
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}", "!", "time",
    "esac", "function",
];

struct PendingHeredoc {
    id: usize,
    delim: String,
    strip_tabs: bool,
}

struct Parser<'a> {
    src: &'a str,
    s: &'a [u8],
    pos: usize,
    /// Absolute offset of `src` in the outermost text.
    base: usize,
    depth: usize,
    id_base: usize,
    heredocs: Vec<Heredoc>,
    pending: Vec<PendingHeredoc>,
    /// Open `case … in` statements, and whether a pattern list (`a | b)`) comes next.
    case_depth: usize,
    expect_pattern: bool,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, base: usize, depth: usize, id_base: usize) -> Self {
        Parser {
            src,
            s: src.as_bytes(),
            pos: 0,
            base,
            depth,
            id_base,
            heredocs: Vec::new(),
            pending: Vec::new(),
            case_depth: 0,
            expect_pattern: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.s.get(self.pos + n).copied()
    }

    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.src.get(a..b).unwrap_or("")
    }

    /// Skips spaces, tabs, carriage returns and backslash-newline continuations.
    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(b'\\') if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                return;
            }
            self.pos += 1;
        }
    }

    fn finish(&self, cur: &mut Vec<Command>, out: &mut Vec<Pipeline>) {
        if cur.is_empty() {
            return;
        }
        let commands = std::mem::take(cur);
        let text = commands
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        out.push(Pipeline { commands, text });
    }

    /// Parses a list of pipelines; with `in_paren`, stops after the closing `)`.
    fn parse_list(&mut self, in_paren: bool) -> Vec<Pipeline> {
        let mut out = Vec::new();
        let mut cur: Vec<Command> = Vec::new();
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.read_heredocs();
                    self.finish(&mut cur, &mut out);
                }
                b'#' => self.skip_comment(),
                b';' => {
                    let clause_end = self.peek_at(1) == Some(b';') || self.peek_at(1) == Some(b'&');
                    while matches!(self.peek(), Some(b';' | b'&')) {
                        self.pos += 1;
                    }
                    if clause_end && self.case_depth > 0 {
                        self.expect_pattern = true;
                    }
                    self.finish(&mut cur, &mut out);
                }
                b'&' => {
                    self.pos += if self.peek_at(1) == Some(b'&') { 2 } else { 1 };
                    self.finish(&mut cur, &mut out);
                }
                b'|' => match self.peek_at(1) {
                    Some(b'|') => {
                        self.pos += 2;
                        self.finish(&mut cur, &mut out);
                    }
                    Some(b'&') => {
                        self.pos += 2;
                        self.skip_to_next_command();
                    }
                    _ => {
                        self.pos += 1;
                        self.skip_to_next_command();
                    }
                },
                b')' => {
                    self.pos += 1;
                    self.finish(&mut cur, &mut out);
                    if in_paren {
                        return out;
                    }
                }
                _ => {
                    if self.case_depth > 0 && self.at_word("esac") {
                        self.case_depth -= 1;
                        self.expect_pattern = false;
                    } else if self.expect_pattern && self.skip_case_pattern() {
                        continue;
                    }
                    let before = self.pos;
                    let cmd = self.parse_command();
                    if cmd.words.first().is_some_and(|w| w.raw == "case") {
                        self.case_depth += 1;
                        self.expect_pattern = true;
                    }
                    if self.pos == before {
                        self.pos += 1;
                    }
                    if !cmd.words.is_empty()
                        || !cmd.assignments.is_empty()
                        || !cmd.compound.is_empty()
                        || !cmd.redirects.is_empty()
                    {
                        cur.push(cmd);
                    }
                }
            }
        }
        self.finish(&mut cur, &mut out);
        out
    }

    fn parse_command(&mut self) -> Command {
        let start = self.pos;
        let mut cmd = Command {
            start: self.base + start,
            ..Command::default()
        };
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            match c {
                b'\n' | b';' | b'|' | b')' => break,
                b'&' if self.peek_at(1) != Some(b'>') => break,
                b'#' => break,
                b'(' if cmd.words.is_empty()
                    && cmd.compound.is_empty()
                    && self.depth < MAX_DEPTH =>
                {
                    // A subshell `(cmd)`, also after a keyword: `if (cmd)`, `! (cmd)`;
                    // `((…))` is arithmetic.
                    if self.peek_at(1) == Some(b'(') {
                        self.skip_balanced_parens();
                    } else {
                        self.pos += 1;
                        self.depth += 1;
                        cmd.compound = self.parse_list(true);
                        self.depth -= 1;
                    }
                }
                b'<' | b'>' if self.peek_at(1) == Some(b'(') && self.depth < MAX_DEPTH => {
                    let w = self.read_process_subst();
                    cmd.words.push(w);
                }
                b'<' | b'>' | b'&' => self.read_redirect(&mut cmd, None),
                b'0'..=b'9' if self.fd_redirect_ahead() => {
                    let d0 = self.pos;
                    while matches!(self.peek(), Some(b'0'..=b'9')) {
                        self.pos += 1;
                    }
                    let fd = self.slice(d0, self.pos).parse().ok();
                    self.read_redirect(&mut cmd, fd);
                }
                _ => {
                    let w = self.read_word();
                    if cmd.words.is_empty() && cmd.compound.is_empty() && is_assignment(&w.raw) {
                        cmd.assignments.push(w);
                        continue;
                    }
                    let is_kw = cmd.words.is_empty()
                        && cmd.compound.is_empty()
                        && KEYWORDS.contains(&w.raw.as_str());
                    if !is_kw {
                        cmd.words.push(w);
                    } else if cmd.redirects.is_empty() {
                        cmd.closes_group |= w.raw == "}";
                        cmd.start = self.base + self.pos;
                    }
                }
            }
        }
        let text_start = cmd.start.saturating_sub(self.base);
        cmd.text = self
            .slice(text_start.max(start), self.pos)
            .trim()
            .to_string();
        cmd
    }

    /// After a `|`: the pipeline goes on past blanks, comments and line ends
    /// (`curl … |⏎ sh`), heredoc bodies of the finished line included.
    fn skip_to_next_command(&mut self) {
        loop {
            self.skip_blanks();
            match self.peek() {
                Some(b'\n') => {
                    self.pos += 1;
                    self.read_heredocs();
                }
                Some(b'#') => self.skip_comment(),
                _ => return,
            }
        }
    }

    /// Whether the text here is the word `w` (followed by a blank, `;`, `)` or the end).
    fn at_word(&self, w: &str) -> bool {
        self.s[self.pos..].starts_with(w.as_bytes())
            && !self
                .s
                .get(self.pos + w.len())
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    }

    /// Skips a `case` clause's pattern list (`"4" | "ipv4")`, `(*.sh)`) up to its
    /// closing `)`, quotes respected, on this line. Returns false (nothing skipped) when
    /// the line has no such `)`.
    fn skip_case_pattern(&mut self) -> bool {
        let mut i = self.pos;
        let mut quote: Option<u8> = None;
        if self.s.get(i) == Some(&b'(') {
            i += 1;
        }
        while let Some(&b) = self.s.get(i) {
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'\'' | b'"' => quote = Some(b),
                    b'\\' => i += 1,
                    b'\n' | b'(' => return false,
                    b')' => {
                        self.pos = i + 1;
                        self.expect_pattern = false;
                        return true;
                    }
                    _ => {}
                },
            }
            i += 1;
        }
        false
    }

    fn fd_redirect_ahead(&self) -> bool {
        let mut i = self.pos;
        while matches!(self.s.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        matches!(self.s.get(i), Some(b'<' | b'>')) && self.s.get(i + 1) != Some(&b'(')
    }

    fn read_redirect(&mut self, cmd: &mut Command, fd: Option<u32>) {
        const OPS: &[&str] = &[
            "&>>", "<<<", "<<-", "&>", "<<", "<>", "<&", ">>", ">&", ">|", "<", ">",
        ];
        let rest = self.slice(self.pos, self.s.len());
        let op = OPS
            .iter()
            .find(|o| rest.starts_with(**o))
            .copied()
            .unwrap_or(">");
        self.pos += op.len();
        self.skip_blanks();
        let target = match self.peek() {
            Some(b'<' | b'>') if self.peek_at(1) == Some(b'(') && self.depth < MAX_DEPTH => {
                Some(self.read_process_subst())
            }
            None | Some(b'\n' | b';' | b'|' | b'&' | b')' | b'<' | b'>') => None,
            Some(_) => Some(self.read_word()),
        };
        let mut heredoc = None;
        if op == "<<" || op == "<<-" {
            if let Some(t) = &target {
                let id = self.id_base + self.heredocs.len();
                self.heredocs.push(Heredoc::default());
                self.pending.push(PendingHeredoc {
                    id,
                    delim: t.value.clone(),
                    strip_tabs: op == "<<-",
                });
                heredoc = Some(id);
            }
        }
        cmd.redirects.push(Redirect {
            op: op.to_string(),
            fd,
            target,
            heredoc,
        });
    }

    /// Reads the bodies of heredocs whose command line just ended.
    fn read_heredocs(&mut self) {
        for p in std::mem::take(&mut self.pending) {
            let body_start = self.pos;
            let mut body = String::new();
            loop {
                if self.pos >= self.s.len() {
                    break;
                }
                let line_end = self.s[self.pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.s.len(), |i| self.pos + i);
                let line = self.slice(self.pos, line_end);
                self.pos = (line_end + 1).min(self.s.len());
                let cmp = if p.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if cmp.trim_end_matches('\r') == p.delim {
                    break;
                }
                body.push_str(cmp);
                body.push('\n');
            }
            if let Some(h) = self.heredocs.get_mut(p.id - self.id_base) {
                *h = Heredoc {
                    body,
                    start: self.base + body_start,
                };
            }
        }
    }

    /// Skips `((…))`-style balanced parentheses (arithmetic), quote-unaware.
    fn skip_balanced_parens(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            // Arithmetic ends with its line: an unbalanced `(` in a string must not hide
            // the rest of the script.
            if c == b'\n' {
                return;
            }
            self.pos += 1;
            match c {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn read_process_subst(&mut self) -> Word {
        let start = self.pos;
        self.pos += 2;
        self.depth += 1;
        let body = self.parse_list(true);
        self.depth -= 1;
        let raw = self.slice(start, self.pos).to_string();
        Word {
            value: raw.clone(),
            subs: vec![Subst {
                kind: SubstKind::Process,
                raw: raw.clone(),
                body,
            }],
            raw,
            start: self.base + start,
        }
    }

    /// Reads `$(…)` starting at `$`.
    fn read_dollar_paren(&mut self, subs: &mut Vec<Subst>, buf: &mut String) {
        let start = self.pos;
        self.pos += 2;
        self.depth += 1;
        let body = self.parse_list(true);
        self.depth -= 1;
        let raw = self.slice(start, self.pos).to_string();
        push_sentinel(buf, subs.len());
        subs.push(Subst {
            kind: SubstKind::Command,
            raw,
            body,
        });
    }

    /// Reads a backtick substitution starting at the opening backtick.
    fn read_backtick(&mut self, subs: &mut Vec<Subst>, buf: &mut String) {
        let start = self.pos;
        self.pos += 1;
        let mut inner = String::new();
        while let Some(c) = self.peek() {
            if c == b'`' {
                self.pos += 1;
                break;
            }
            if c == b'\\' && matches!(self.peek_at(1), Some(b'`' | b'\\' | b'$')) {
                inner.push(char::from(self.peek_at(1).unwrap_or(b'\\')));
                self.pos += 2;
                continue;
            }
            let next = self.next_char_end();
            inner.push_str(self.slice(self.pos, next));
            self.pos = next;
        }
        let raw = self.slice(start, self.pos).to_string();
        let mut sub = Parser::new(
            &inner,
            self.base + start + 1,
            self.depth + 1,
            self.id_base + self.heredocs.len(),
        );
        let body = sub.parse_list(false);
        self.heredocs.append(&mut sub.heredocs);
        push_sentinel(buf, subs.len());
        subs.push(Subst {
            kind: SubstKind::Command,
            raw,
            body,
        });
    }

    /// End offset of the UTF-8 character at `pos`.
    fn next_char_end(&self) -> usize {
        let mut e = self.pos + 1;
        while e < self.s.len() && !self.src.is_char_boundary(e) {
            e += 1;
        }
        e
    }

    /// The command substitutions inside text copied verbatim from `from` to here
    /// (`$(( $(date +%s) - t ))`, zsh's `${$(cmd)%x}`): they run, so their bodies are
    /// parsed; the word's value keeps the text as written.
    fn nested_substs(&mut self, from: usize, subs: &mut Vec<Subst>) {
        // Each level re-reads what it copied: bounded in depth and size so that nested
        // `$(( $( …` cannot make the parse quadratic.
        if self.depth >= NESTED_DEPTH || self.pos - from > NESTED_BYTES {
            return;
        }
        let end = self.pos;
        let mut i = from;
        while i + 1 < end {
            let here = &self.s[i..end];
            if here.starts_with(b"$(") && !here.starts_with(b"$((") {
                let inner = self.slice(i + 2, end);
                let mut sub = Parser::new(
                    inner,
                    self.base + i + 2,
                    self.depth + 1,
                    self.id_base + self.heredocs.len(),
                );
                let body = sub.parse_list(true);
                self.heredocs.append(&mut sub.heredocs);
                let stop = (i + 2 + sub.pos).min(end);
                subs.push(Subst {
                    kind: SubstKind::Command,
                    raw: self.slice(i, stop).to_string(),
                    body,
                });
                i = stop.max(i + 2);
            } else {
                i += 1;
            }
        }
    }

    /// Copies `${…}` (brace-balanced) or `$((…))` verbatim.
    fn copy_balanced(&mut self, open: u8, close: u8, buf: &mut String) {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == open {
                depth += 1;
            } else if c == close {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
        }
        // The slice ends on an ASCII byte, so it is a char boundary.
        buf.push_str(self.slice(start, self.pos));
    }

    fn read_word(&mut self) -> Word {
        let start = self.pos;
        let mut buf = String::new();
        let mut subs = Vec::new();
        let mut in_dq = false;
        while let Some(c) = self.peek() {
            if !in_dq
                && matches!(
                    c,
                    b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b')'
                )
            {
                break;
            }
            match c {
                b'\\' if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                b'\\' => {
                    self.pos += 1;
                    let end = if self.pos < self.s.len() {
                        self.next_char_end()
                    } else {
                        self.pos
                    };
                    buf.push('\\');
                    buf.push_str(self.slice(self.pos, end));
                    self.pos = end;
                }
                b'\'' if !in_dq => {
                    let end = self.s[self.pos + 1..]
                        .iter()
                        .position(|&b| b == b'\'')
                        .map_or(self.s.len(), |i| self.pos + 1 + i + 1);
                    buf.push_str(self.slice(self.pos, end));
                    self.pos = end;
                }
                b'"' => {
                    in_dq = !in_dq;
                    buf.push('"');
                    self.pos += 1;
                }
                b'$' if self.peek_at(1) == Some(b'(') && self.peek_at(2) == Some(b'(') => {
                    self.pos += 1;
                    buf.push('$');
                    let from = self.pos;
                    self.copy_balanced(b'(', b')', &mut buf);
                    self.nested_substs(from, &mut subs);
                }
                b'$' if self.peek_at(1) == Some(b'(') && self.depth < MAX_DEPTH => {
                    self.read_dollar_paren(&mut subs, &mut buf);
                }
                b'$' if self.peek_at(1) == Some(b'{') => {
                    self.pos += 1;
                    buf.push('$');
                    let from = self.pos;
                    self.copy_balanced(b'{', b'}', &mut buf);
                    self.nested_substs(from, &mut subs);
                }
                b'`' if self.depth < MAX_DEPTH => self.read_backtick(&mut subs, &mut buf),
                _ => {
                    let end = self.next_char_end();
                    buf.push_str(self.slice(self.pos, end));
                    self.pos = end;
                }
            }
        }
        let raw = self.slice(start, self.pos).to_string();
        let value = restore_sentinels(&unquote(&buf), &subs);
        Word {
            raw,
            value,
            start: self.base + start,
            subs,
        }
    }
}

fn push_sentinel(buf: &mut String, idx: usize) {
    buf.push(SENT_OPEN);
    buf.push_str(&idx.to_string());
    buf.push(SENT_CLOSE);
}

/// Quote removal of one word through `shlex`; falls back to the text itself.
fn unquote(word: &str) -> String {
    match shlex::split(word) {
        Some(parts) => parts.join(" "),
        None => word.replace(['"', '\''], ""),
    }
}

fn restore_sentinels(value: &str, subs: &[Subst]) -> String {
    if subs.is_empty() {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find(SENT_OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + SENT_OPEN.len_utf8()..];
        let Some(j) = after.find(SENT_CLOSE) else {
            rest = after;
            continue;
        };
        if let Some(s) = after[..j].parse::<usize>().ok().and_then(|n| subs.get(n)) {
            out.push_str(&s.raw);
        }
        rest = &after[j + SENT_CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// True for a shell assignment word as written: `NAME=…` with `NAME` a valid
/// variable name, unquoted (`"A=1" cmd` runs a command named `A=1`).
fn is_assignment(raw: &str) -> bool {
    let Some((name, _)) = raw.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
