//! Shell functions a script defines, and what each one does with its arguments: the
//! indirection real installers use (`download_with_retry URL PATH`, `ensure CMD…`,
//! `use_checksum_comparison FILE SUM`).
//!
//! A function counts as a downloader, a verifier or a wrapper only when its body, read
//! here, really is one: a checksum helper verifies only if its body runs a verification
//! program or compares a digest it computed.

use super::argv::unwrap;
use super::files::{download_outputs, is_digest_program, verify_operands};
use super::indicators::{is_download_program, program_name};
use super::parse::{parse, Command, Pipeline};
use super::recognise::extraction;
use std::collections::HashMap;
use std::sync::Arc;

/// Bodies longer than this many lines are cut there (a definition with no closing brace).
const MAX_BODY_LINES: usize = 2000;

/// What a function does, as far as its body shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Traits {
    /// It downloads.
    pub downloads: bool,
    /// It hands its arguments to the download program (`curl "$@"`): a call's arguments
    /// are read as that program's.
    pub passes_args: bool,
    /// The download writes to the file named by this positional parameter (1-based).
    pub output_param: Option<usize>,
    /// The download writes to the file in this variable, a named parameter of a
    /// PowerShell function (`-Path X`) when the caller passes it.
    pub output_var: Option<String>,
    /// Its output is the downloaded bytes (`curl -fsSL "$1"` as its last word on
    /// standard output): `fn URL | sh` runs what was downloaded.
    pub prints: bool,
    /// It prints the path it downloaded to (`echo "$download_path"`): `p=$(fn URL)` holds
    /// a downloaded file.
    pub prints_path: bool,
    /// It checks a checksum or a signature, whatever the caller passes.
    pub verifies: bool,
    /// Its check runs only inside `if ($Param) { … }` for one of these (lower-case)
    /// parameters: a call that passes none of them (`Install-Binary -Url U` with no
    /// `-ExpectedSHA256Sum`) is not verified.
    pub verifies_if: Vec<String>,
    /// It runs a file it downloaded itself (an installer helper).
    pub runs_download: bool,
    /// It unpacks the archive one parameter names into the directory another names
    /// (`Expand-7ZipArchive -Path A -DestinationPath D`): positional numbers or
    /// lower-case PowerShell parameter names.
    pub unpacks: Option<(String, String)>,
    /// It runs its arguments as a command (`ensure() { "$@" || die; }`).
    pub wraps: bool,
    /// It runs the file a parameter names: `"1"` for `"$1" …`, or a PowerShell
    /// parameter's name (`& $InstallScriptPath …` → `installscriptpath`).
    pub runs_param: Option<String>,
}

/// Shell functions learnt from scripts, by name. Learn every file of a repository first
/// (with [`Helpers::learn_shared`]) and a helper defined in one script is known where
/// another script calls it. Cloning is cheap once [`Helpers::freeze`] has been called:
/// the shared part is reference-counted, and a clone only adds a file's own functions.
#[derive(Debug, Clone, Default)]
pub struct Helpers {
    /// This file's own functions; `None` shadows a shared function of the same name.
    own: HashMap<String, Option<Traits>>,
    shared: Option<Arc<HashMap<String, Traits>>>,
    /// While learning a repository: which file (by a hash of its text) defined each
    /// helper in `own`.
    origin: HashMap<String, u64>,
}

impl Helpers {
    /// Learns the functions `script` defines, as the functions of one file: a later
    /// definition of a name replaces an earlier one, and a definition with no trait hides
    /// a helper of that name learnt elsewhere. Total: text that is not shell simply
    /// defines nothing.
    ///
    /// Definitions are read twice, so that a helper is known in the body of a function
    /// defined above it (`Install-Binary` calling `Invoke-DownloadWithRetry`, defined
    /// further down).
    pub fn learn(&mut self, script: &str) {
        let defs = definitions(script);
        for _ in 0..if defs.len() > 1 { 2 } else { 1 } {
            for (name, body) in &defs {
                let t = self.traits_of(body);
                // Callers are matched by lower-case program name (PowerShell names ignore
                // case; a shell script defining two functions differing in case is unusual).
                let name = name.to_ascii_lowercase();
                self.own.insert(name, (t != Traits::default()).then_some(t));
            }
        }
    }

    /// Learns the functions `script` defines as functions of a whole repository: a
    /// definition with a trait is added (replacing another with a trait), and one with
    /// none never removes a helper another file defines (a test stub `download() { :; }`
    /// must not hide the real downloader from every other script). Learn every file
    /// twice when helpers call helpers that another file (or a later line) defines.
    ///
    /// When two files define a helper of the same name with traits, the one that checks
    /// less wins (a test mock of `Install-Binary` that verifies must not silence every
    /// real call of the one that does not); a file learnt again replaces its own.
    pub fn learn_shared(&mut self, script: &str) {
        let file = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            script.hash(&mut h);
            h.finish()
        };
        for (name, body) in definitions(script) {
            let t = self.traits_of(&body);
            if t == Traits::default() {
                continue;
            }
            let name = name.to_ascii_lowercase();
            let other_file = self.origin.get(&name).is_some_and(|f| *f != file);
            let keep_existing = other_file
                && matches!(self.own.get(&name), Some(Some(old)) if !old.verifies && t.verifies);
            if !keep_existing {
                self.own.insert(name.clone(), Some(t));
                self.origin.insert(name, file);
            }
        }
    }

    /// Moves what has been learnt into the shared, reference-counted part, so that
    /// clones (one per scanned file) copy nothing.
    pub fn freeze(&mut self) {
        let mut all: HashMap<String, Traits> = self.shared.as_deref().cloned().unwrap_or_default();
        for (k, v) in self.own.drain() {
            match v {
                Some(t) => {
                    all.insert(k, t);
                }
                None => {
                    all.remove(&k);
                }
            }
        }
        self.shared = Some(Arc::new(all));
        self.origin.clear();
    }

    /// Whether `script` has a function definition at all (cheap: no body is read).
    pub fn defines_functions(script: &str) -> bool {
        script.lines().any(|l| definition_start(l).is_some())
    }

    /// How many names with a known trait are known (a file's own, then shared ones).
    pub fn len(&self) -> usize {
        let own = self.own.values().filter(|v| v.is_some()).count();
        let shared = self.shared.as_deref().map_or(0, |s| {
            s.keys().filter(|k| !self.own.contains_key(*k)).count()
        });
        own + shared
    }

    /// Whether no helper is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn get(&self, name: &str) -> Option<Traits> {
        let key = name.to_ascii_lowercase();
        match self.own.get(&key) {
            Some(own) => own.clone(),
            None => self.shared.as_deref().and_then(|s| s.get(&key)).cloned(),
        }
    }

    pub(crate) fn downloads(&self, name: &str) -> bool {
        is_download_program(name) || self.get(name).is_some_and(|t| t.downloads)
    }

    /// Whether `name` writes downloaded bytes to its standard output (a download program,
    /// or a helper whose output is a download).
    pub(crate) fn prints_download(&self, name: &str) -> bool {
        is_download_program(name) || self.get(name).is_some_and(|t| t.prints)
    }

    fn traits_of(&self, body: &str) -> Traits {
        let parsed = parse(body);
        let mut t = Traits::default();
        let mut params: HashMap<String, usize> = HashMap::new();
        let mut digest = false;
        let mut compares = false;
        let mut plain: HashMap<String, String> = HashMap::new();
        let mut output_vars: Vec<String> = Vec::new();
        let mut assigned: Vec<String> = Vec::new();
        let mut digest_vars: Vec<String> = Vec::new();
        let mut executed: Vec<String> = Vec::new();
        let mut verified_at: Vec<usize> = Vec::new();
        let mut unpacks: Option<(String, String)> = None;
        walk(&parsed.pipelines, &mut |c: &Command, piped: bool| {
            for a in &c.assignments {
                note_param(&a.value, &mut params);
                // `$filePath = Invoke-DownloadWithRetry …` (a helper printing the path).
                if let Some((k, _)) = a.value.split_once('=') {
                    let from_download = a.subs.iter().flat_map(|s| &s.body).any(|p| {
                        p.commands.iter().any(|sc| {
                            sc.words.first().is_some_and(|w| {
                                self.get(&program_name(&w.value))
                                    .is_some_and(|h| h.downloads && h.prints_path)
                            })
                        })
                    });
                    if from_download {
                        output_vars.push(k.to_string());
                    }
                }
                if DIGESTS.iter().any(|d| a.value.contains(d)) {
                    if let Some((k, _)) = a.value.split_once('=') {
                        digest_vars.push(k.to_string());
                    }
                }
                if let Some((k, _)) = a.value.split_once('=') {
                    assigned.push(k.to_ascii_lowercase());
                }
                if let Some((k, v)) = a.value.split_once('=').filter(|_| a.subs.is_empty()) {
                    plain.insert(k.to_string(), v.to_string());
                }
            }
            let mut values: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
            // `command "$NVM_DOWNLOADER" "$@"` with `NVM_DOWNLOADER='curl'` earlier.
            let at = usize::from(matches!(
                values.first().map(String::as_str),
                Some("command" | "exec" | "builtin")
            ));
            if let Some(v) = values.get_mut(at) {
                if let Some(known) = plain.get(&var_name(v)) {
                    *v = known.clone();
                }
            }
            if matches!(
                values.first().map(String::as_str),
                Some("local" | "declare" | "typeset" | "readonly" | "export")
            ) {
                for v in values.iter().skip(1) {
                    note_param(v, &mut params);
                }
                return;
            }
            if matches!(values.first().map(String::as_str), Some("$@" | "$*")) {
                t.wraps = true;
                return;
            }
            let un = unwrap(&values);
            let Some(a0) = un.argv.first() else { return };
            let name = program_name(a0);
            let args = un.argv.get(1..).unwrap_or(&[]);
            let runner = matches!(
                name.as_str(),
                "." | "source"
                    | "bash"
                    | "sh"
                    | "pwsh"
                    | "powershell"
                    | "start-process"
                    | "invoke-expression"
                    | "iex"
            );
            let target = if runner {
                args.iter().find(|a| !a.starts_with('-'))
            } else {
                Some(a0)
            };
            // `($a -ne $b)`, `($x -and $y)`: a PowerShell expression, not a command run.
            let expression = args.iter().any(|a| {
                matches!(
                    a.to_ascii_lowercase().as_str(),
                    "-eq"
                        | "-ne"
                        | "-and"
                        | "-or"
                        | "-not"
                        | "-like"
                        | "-notlike"
                        | "-match"
                        | "-notmatch"
                        | "-gt"
                        | "-lt"
                        | "-ge"
                        | "-le"
                        | "-contains"
                )
            });
            if expression {
                if args.iter().any(|a| {
                    matches!(
                        a.to_ascii_lowercase().as_str(),
                        "-eq" | "-ne" | "-notmatch" | "-match"
                    )
                }) {
                    compares = true;
                }
                return;
            }
            if let Some(v) = target.map(|t| var_name(t)).filter(|v| !v.is_empty()) {
                executed.push(v.to_ascii_lowercase());
            }
            // An installer given a file runs it (`Start-Process $installer -ArgumentList
            // '/quiet', $FilePath`, `msiexec /i $pkg`, `dpkg -i "$1"`).
            let installer = matches!(
                name.as_str(),
                "dpkg" | "rpm" | "msiexec" | "installer" | "start-process"
            );
            if installer {
                executed.extend(
                    args.iter()
                        .map(|a| var_name(a.trim_matches(['"', '`'])).to_ascii_lowercase())
                        .filter(|v| !v.is_empty()),
                );
            }
            // A helper that runs the file one of its parameters names, given a variable
            // (`Install-VSIXFromFile -FilePath $filePath`).
            if let Some(p) = self.get(&name).and_then(|h| h.runs_param) {
                let operand = call_operand(&p, args);
                if let Some(v) = operand.map(|a| var_name(a)).filter(|v| !v.is_empty()) {
                    executed.push(v.to_ascii_lowercase());
                }
            }
            if let Some(x) = extraction(&name, args) {
                if let (Some(a), Some(d)) = (x.archive, x.dir) {
                    unpacks.get_or_insert((
                        var_name(&a).to_ascii_lowercase(),
                        var_name(&d).to_ascii_lowercase(),
                    ));
                }
            }
            if self.downloads(&name) {
                t.downloads = true;
                if args.iter().any(|a| a == "$@" || a == "$*") {
                    t.passes_args = true;
                }
                let stdout_to = c
                    .redirects
                    .iter()
                    .find(|r| r.op == ">" && r.fd.is_none_or(|f| f == 1))
                    .and_then(|r| r.target.as_ref())
                    .map(|w| w.value.clone());
                let dl = if is_download_program(&name) {
                    name.clone()
                } else {
                    "curl".into()
                };
                let outs = download_outputs(&dl, args, stdout_to.as_deref());
                if outs.is_empty() && !piped {
                    t.prints = true;
                }
                for o in outs {
                    output_vars.push(var_name(&o));
                    if let Some(n) = param_index(&o).or_else(|| params.get(&var_name(&o)).copied())
                    {
                        t.output_param.get_or_insert(n);
                    } else if !var_name(&o).is_empty() {
                        t.output_var.get_or_insert(var_name(&o));
                    }
                }
                if let Some(h) = self.get(&name) {
                    t.output_param = t.output_param.or(h.output_param);
                    t.output_var = t.output_var.clone().or(h.output_var);
                    t.prints |= h.prints && !piped;
                    t.prints_path |= h.prints_path;
                }
            } else if verify_operands(&name, args).is_some()
                || self.get(&name).is_some_and(|h| h.verifies)
            {
                verified_at.push(c.start);
            } else if is_digest_program(&name) {
                digest = true;
            } else if matches!(name.as_str(), "[" | "[[" | "test")
                && args.iter().any(|a| matches!(a.as_str(), "=" | "==" | "!="))
                // The comparison is of the digest: a variable it was stored in, or the
                // substitution that computes it.
                && args.iter().any(|a| {
                    digest_vars.contains(&var_name(a))
                        || DIGESTS.iter().any(|d| a.contains(d))
                })
                || matches!(name.as_str(), "cmp" | "diff")
                || name == "grep" && args.iter().any(|a| a.starts_with('-') && a.contains('q'))
            {
                compares = true;
            } else if matches!(name.as_str(), "echo" | "printf")
                && args.iter().any(|a| {
                    output_vars
                        .iter()
                        .any(|v| !v.is_empty() && var_name(a) == *v)
                })
            {
                t.prints_path = true;
            }
        });
        let declared = declared_params(body);
        let caller_sets = |v: &str| match &declared {
            Some(d) => d.iter().any(|p| p == v),
            None => !assigned.iter().any(|a| a == v),
        };
        // A check inside `if ($Param) { … }` runs only when the caller passes `-Param`.
        let blocks = if verified_at.is_empty() {
            Vec::new()
        } else {
            conditional_blocks(body)
        };
        t.verifies = digest && compares;
        for at in verified_at {
            let guard = blocks
                .iter()
                .filter(|(r, p)| r.contains(&at) && caller_sets(p))
                .min_by_key(|(r, _)| r.len());
            match guard {
                Some((_, p)) if !t.verifies_if.contains(p) => t.verifies_if.push(p.clone()),
                Some(_) => {}
                None => t.verifies = true,
            }
        }
        if t.verifies {
            t.verifies_if.clear();
        }
        t.runs_download = executed.iter().any(|v| {
            output_vars
                .iter()
                .any(|o| !o.is_empty() && o.eq_ignore_ascii_case(v))
        });
        // Both operands must be the caller's: numbered or named parameters.
        let param = |v: &str| -> Option<String> {
            if v.is_empty() {
                return None;
            }
            if let Some(n) = v.parse::<usize>().ok().or_else(|| params.get(v).copied()) {
                return Some(n.to_string());
            }
            caller_sets(v).then(|| v.to_string())
        };
        t.unpacks = unpacks.and_then(|(a, d)| Some((param(&a)?, param(&d)?)));
        t.runs_param = executed.into_iter().find_map(|v| {
            if let Some(n) = v.parse::<usize>().ok().or_else(|| params.get(&v).copied()) {
                return Some(n.to_string());
            }
            let named = match &declared {
                Some(d) => d.contains(&v),
                None => !assigned.contains(&v) && v.chars().any(|c| c.is_ascii_alphabetic()),
            };
            named.then_some(v)
        });
        t
    }
}

/// The (lower-case) parameters a PowerShell `param( … )` block at the top of `body`
/// declares, or `None` when there is no such block.
fn declared_params(body: &str) -> Option<Vec<String>> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("param")?;
    let before = lower[..start].trim();
    if !before.is_empty() && !before.ends_with('{') {
        return None;
    }
    let open = start + lower[start..].find('(')?;
    if !lower[start + 5..open].trim().is_empty() {
        return None;
    }
    let mut depth = 0i32;
    let mut end = lower.len();
    for (i, c) in lower[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = open + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let block = &lower[open..end];
    Some(
        block
            .split('$')
            .skip(1)
            .map(|r| {
                r.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty() && n != "true" && n != "false" && n != "null")
            .collect(),
    )
}

/// Digest programs, as they appear in a substitution's text.
const DIGESTS: &[&str] = &[
    "sha256sum",
    "sha512sum",
    "sha384sum",
    "sha1sum",
    "shasum",
    "b2sum",
    "openssl dgst",
    "Get-FileHash",
    "get-filehash",
];

/// Calls `f` on every command in `ps`, nested ones (subshells, substitutions) included,
/// with whether its standard output goes somewhere other than the function's own: into a
/// pipe or into a substitution.
fn walk(ps: &[Pipeline], f: &mut dyn FnMut(&Command, bool)) {
    walk_in(ps, false, f);
}

fn walk_in(ps: &[Pipeline], captured: bool, f: &mut dyn FnMut(&Command, bool)) {
    for p in ps {
        for (k, c) in p.commands.iter().enumerate() {
            for w in c.assignments.iter().chain(&c.words) {
                for s in &w.subs {
                    walk_in(&s.body, true, f);
                }
            }
            f(c, captured || k + 1 < p.commands.len());
            walk_in(&c.compound, captured, f);
        }
    }
}

/// The byte ranges of `body` inside a PowerShell `if ($Param) { … }` or
/// `if ($PSBoundParameters.ContainsKey('Param')) { … }`, with the parameter's lower-case
/// name (the block's closing line included).
fn conditional_blocks(body: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut starts = Vec::new();
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        starts.push((at, line));
        at += line.len();
    }
    let mut out = Vec::new();
    for (k, (start, line)) in starts.iter().enumerate() {
        let Some(param) = condition_param(line) else {
            continue;
        };
        let mut quote = None;
        let mut depth = 0i64;
        let mut opened = false;
        let mut end = start + line.len();
        for (j, (s, l)) in starts[k..].iter().enumerate() {
            let has_open = l.contains('{');
            depth += brace_delta(l, &mut quote);
            if j == 0 && has_open && depth <= 0 {
                // `if ($Quiet) { … }` on one line.
                break;
            }
            if !opened && j >= 1 && !has_open {
                // No block follows: nothing is conditional on this line.
                break;
            }
            opened |= depth > 0;
            end = s + l.len();
            if opened && depth <= 0 {
                break;
            }
        }
        out.push((*start..end, param));
    }
    out
}

/// `p` for a line `if ($p) {` or `if ($PSBoundParameters.ContainsKey('p')) {`.
fn condition_param(line: &str) -> Option<String> {
    let t = line.trim().to_ascii_lowercase();
    let rest = t.strip_prefix("if")?.trim_start().strip_prefix('(')?;
    let cond = rest.rsplit_once(')')?.0.trim();
    let cond = cond.trim_start_matches('(').trim_end_matches(')').trim();
    // `$p -ne $null -and $p -ne ''`: every clause tests the same parameter.
    if cond.contains(" -and ") {
        let names: Vec<Option<String>> = cond
            .split(" -and ")
            .map(|c| condition_param(&format!("if ({}) {{", c.trim())))
            .collect();
        return match names.first() {
            Some(Some(first)) if names.iter().all(|n| n.as_ref() == Some(first)) => {
                Some(first.clone())
            }
            _ => None,
        };
    }
    // `$p -ne $null`, `$p -ne ''`, `-not [string]::IsNullOrEmpty($p)`: the same test.
    let cond = ["-ne $null", "-ne ''", "-ne \"\""]
        .iter()
        .find_map(|suffix| cond.strip_suffix(suffix))
        .map_or(cond, str::trim);
    let cond = cond
        .strip_prefix("-not [string]::isnullorempty(")
        .or_else(|| cond.strip_prefix("![string]::isnullorempty("))
        .map_or(cond, |c| c.trim_end_matches(')').trim());
    if let Some(q) = cond.strip_prefix("$psboundparameters.containskey(") {
        let name = q.trim_end_matches(')').trim_matches(['\'', '"']);
        return (!name.is_empty()).then(|| name.to_string());
    }
    let name = var_name(cond);
    (!name.is_empty()).then_some(name)
}

/// The word a call passes for a helper's parameter `p` ([`Traits::runs_param`]): the
/// `n`th argument for a positional `"n"`, or the word after `-p` (any case) for a
/// named PowerShell parameter.
pub(crate) fn call_operand<'a>(p: &str, args: &'a [String]) -> Option<&'a String> {
    match p.parse::<usize>() {
        Ok(n) => args.get(n.saturating_sub(1)),
        Err(_) => {
            let flag = format!("-{p}");
            args.iter()
                .position(|a| a.eq_ignore_ascii_case(&flag))
                .and_then(|k| args.get(k + 1))
        }
    }
}

/// `1` for `$1`, `${1}`, `${1:-x}`.
fn param_index(value: &str) -> Option<usize> {
    let v = value.strip_prefix('$')?;
    let v = v.strip_prefix('{').unwrap_or(v);
    let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|n| *n > 0)
}

/// `path` for `$path` or `${path}` (after quote removal); empty otherwise.
pub(crate) fn var_name(value: &str) -> String {
    let Some(v) = value.strip_prefix('$') else {
        return String::new();
    };
    let v = v
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(v);
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        v.to_string()
    } else {
        String::new()
    }
}

/// Records `name=$N` (and `name=${N:-default}`).
fn note_param(assignment: &str, params: &mut HashMap<String, usize>) {
    if let Some((name, value)) = assignment.split_once('=') {
        if let Some(n) = param_index(value) {
            params.insert(name.to_string(), n);
        }
    }
}

/// The name a function definition line starts, and the rest of the line after the name
/// (and its `()`): `foo() {`, `function foo {`, `function foo() (`.
fn definition_start(line: &str) -> Option<(String, &str)> {
    let t = line.trim_start();
    let (keyword, rest) = match t.strip_prefix("function") {
        Some(r) if r.starts_with([' ', '\t']) => (true, r.trim_start()),
        _ => (false, t),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_.:-".contains(c)))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return None;
    }
    let after = rest[end..].trim_start();
    let after = match after.strip_prefix("()") {
        Some(a) => a.trim_start(),
        None if keyword => after,
        None => return None,
    };
    (after.is_empty() || after.starts_with(['{', '(']) || after.starts_with('#'))
        .then(|| (name.to_string(), after))
}

/// Counts braces outside quotes and comments; `quote` carries an open quote from one
/// line to the next (a multi-line awk program in single quotes).
fn brace_delta(line: &str, quote: &mut Option<char>) -> i64 {
    let mut d = 0i64;
    let mut prev = ' ';
    for c in line.chars() {
        match *quote {
            Some(q) if c == q && (q == '\'' || prev != '\\') => *quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' if prev != '\\' => *quote = Some(c),
                '#' if prev.is_whitespace() => break,
                '{' => d += 1,
                '}' => d -= 1,
                _ => {}
            },
        }
        prev = c;
    }
    d
}

/// Every function definition in `script`, with its body text.
fn definitions(script: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = script.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((name, after)) = definition_start(lines[i]) else {
            i += 1;
            continue;
        };
        let mut quote = None;
        let mut depth = brace_delta(after, &mut quote);
        let mut body = vec![after.trim_start_matches(['{', '(']).to_string()];
        let mut j = i + 1;
        if depth <= 0 && !after.contains('}') {
            // The brace is on the next line.
            while j < lines.len() && lines[j].trim().is_empty() {
                j += 1;
            }
            if lines
                .get(j)
                .is_some_and(|l| l.trim_start().starts_with('{'))
            {
                depth = brace_delta(lines[j], &mut quote);
                body.push(lines[j].trim_start().trim_start_matches('{').to_string());
                j += 1;
            } else {
                i += 1;
                continue;
            }
        }
        while depth > 0 && j < lines.len() && j - i < MAX_BODY_LINES {
            depth += brace_delta(lines[j], &mut quote);
            body.push(lines[j].to_string());
            j += 1;
        }
        out.push((name, body.join("\n")));
        i = j.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learnt(script: &str, name: &str) -> Traits {
        let mut h = Helpers::default();
        h.learn(script);
        h.get(name).unwrap_or_default()
    }

    #[test]
    fn downloaders_by_output_parameter_passthrough_and_print() {
        let rustup = "downloader() {\n  local _dld\n  if [ \"$_dld\" = curl ]; then\n    _err=$(curl --silent --fail --location \"$1\" --output \"$2\" 2>&1)\n  fi\n}\n";
        let t = learnt(rustup, "downloader");
        assert!(t.downloads);
        assert_eq!(t.output_param, Some(2));
        let nvm = "nvm_download() {\n  if nvm_has curl; then\n    curl --fail --compressed -q \"$@\"\n  fi\n}\n";
        let t = learnt(nvm, "nvm_download");
        assert!(t.downloads && t.passes_args);
        let runner = "download_with_retry() {\n    url=$1\n    download_path=$2\n    curl -fsSL \"$url\" -o \"$download_path\"\n    echo \"$download_path\"\n}\n";
        let t = learnt(runner, "download_with_retry");
        assert_eq!(t.output_param, Some(2));
        assert!(t.prints_path && !t.prints);
        let by_variable = "nvm_download() {\n  NVM_DOWNLOADER='curl'\n  command \"${NVM_DOWNLOADER}\" \"$@\"\n}\n";
        assert!(learnt(by_variable, "nvm_download").passes_args);
        // A function that installs what it downloads prints no downloaded bytes.
        let runs = "run_it() {\n  local f=$1\n  chmod +x \"$f\"\n  \"$f\" --yes\n}\n";
        assert_eq!(learnt(runs, "run_it").runs_param.as_deref(), Some("1"));
        let installs = "do_install() {\n  curl -fsSL \"$1\" | tar -xz\n  echo done\n}\n";
        let t = learnt(installs, "do_install");
        assert!(t.downloads && !t.prints && !t.prints_path);
    }

    #[test]
    fn a_checksum_helper_verifies_only_when_its_body_compares() {
        let real = "use_checksum_comparison() {\n    local file_path=$1\n    local checksum=$2\n    local_file_hash=$(shasum --algorithm 256 \"$file_path\" | awk '{print $1}')\n    if [[ \"$local_file_hash\" != \"$checksum\" ]]; then\n        exit 1\n    fi\n}\n";
        assert!(learnt(real, "use_checksum_comparison").verifies);
        let fake = "verify_checksum() {\n    echo \"checksum ok for $1\"\n}\n";
        assert!(!learnt(fake, "verify_checksum").verifies);
        let printed = "show_sum() { sha256sum \"$1\"; }\n";
        assert!(!learnt(printed, "show_sum").verifies);
        let check = "check() { echo \"$2  $1\" | sha256sum -c -; }\n";
        assert!(learnt(check, "check").verifies);
    }

    #[test]
    fn wrappers_and_definition_forms() {
        assert!(
            learnt(
                "ensure() {\n    if ! \"$@\"; then err \"command failed: $*\"; fi\n}\n",
                "ensure"
            )
            .wraps
        );
        assert!(learnt("ignore() { \"$@\"; }\n", "ignore").wraps);
        assert!(learnt("function fetch_it {\n  wget -qO- \"$1\"\n}\n", "fetch_it").prints);
        assert!(learnt("get()\n{\n  curl -fsSL \"$1\"\n}\n", "get").downloads);
        assert_eq!(learnt("echo() { :; }\nfoo bar\n", "foo"), Traits::default());
    }
}
