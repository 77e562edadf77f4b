//! PowerShell text (`.ps1`, `.psm1`, `shell: pwsh` steps, `powershell -Command` in batch
//! files), read by the shell detector after a line-for-line rewrite into the shell forms
//! it knows:
//!
//! - `$path = Invoke-DownloadWithRetry $url` becomes `path=$(invoke-downloadwithretry
//!   $url)`, so a helper that returns the path it downloaded to marks `$path`;
//! - `(New-Object Net.WebClient).DownloadFile($u, $p)` becomes `curl -o $p $u`;
//! - `& $path`, `return $x` and `Write-Output $x` become `$path`, `echo $x`;
//! - comments (`#`, `<# … #>`) and backtick escapes go; a backtick at the end of a line
//!   continues it; `\` is a path separator; names are folded to lower case, as
//!   PowerShell compares them.
//!
//! Each line stays on its line, so findings keep the file's line numbers. Every line is
//! also checked on its own for download-and-`Invoke-Expression` (rule GUARD007).

use super::add_powershell_lines;
use crate::detect::{self as guard, Finding, Helpers};

/// Removes a `#` comment (outside quotes) from a line.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

/// Lowercases `$name` variables (PowerShell compares names without case).
fn fold_names(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            while let Some(&n) = chars
                .peek()
                .filter(|n| n.is_ascii_alphanumeric() || **n == '_' || **n == ':')
            {
                out.push(n.to_ascii_lowercase());
                chars.next();
            }
        }
    }
    // `((Get-FileHash $f).Hash -ne $x)` is not shell arithmetic.
    out.replace("((", "( (")
}

/// `(New-Object …).DownloadFile(A, B)` → `curl -o B A`.
fn download_file_call(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find(".downloadfile(")?;
    let args = &line[at + ".downloadfile(".len()..];
    let end = args.rfind(')')?;
    let (url, path) = args[..end].split_once(',')?;
    Some(format!("curl -o {} {}", path.trim(), url.trim()))
}

/// `-InstallArgs ("/s", "/i")` and `@('/s', '/i')` as the plain words `"/s", "/i"`: an
/// array argument, not a subshell.
fn flatten_arrays(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        // ` (` or ` @(` right before a quote opens an array argument.
        let open = if b[i] == b' ' {
            match (b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
                (Some(b'('), Some(b'"' | b'\''), _) => Some(2),
                (Some(b'@'), Some(b'('), Some(b'"' | b'\'')) => Some(3),
                _ => None,
            }
        } else {
            None
        };
        let Some(len) = open else {
            i += 1;
            continue;
        };
        out.push_str(&line[copied..=i]);
        let inner_start = i + len;
        match unquoted_close(&line[inner_start..]) {
            Some(close) => {
                out.push_str(&line[inner_start..inner_start + close]);
                copied = inner_start + close + 1;
                i = copied;
            }
            None => {
                copied = inner_start;
                break;
            }
        }
    }
    out.push_str(&line[copied..]);
    out
}

/// `"TEXT" | Out-File [-Append] [-FilePath] F …` as `echo "TEXT" >> F`: only for a line
/// that is exactly one quoted string piped into `Out-File` (as runner and CI scripts
/// append a directory to `$env:GITHUB_PATH`); anything else is left to the shell reading.
fn out_file(line: &str) -> Option<String> {
    let (left, right) = one_string_piped(line)?;
    let words: Vec<&str> = right.split_whitespace().collect();
    if !words.first()?.eq_ignore_ascii_case("out-file") {
        return None;
    }
    let words = &words[1..];
    let path = match words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("-filepath") || w.eq_ignore_ascii_case("-path"))
    {
        Some(k) => *words.get(k + 1)?,
        None => *words.first().filter(|w| !w.starts_with('-'))?,
    };
    let op = if words.iter().any(|w| w.eq_ignore_ascii_case("-append")) {
        ">>"
    } else {
        ">"
    };
    Some(format!("echo {left} {op} {path}"))
}

/// A line that is one quoted string (no quote of its kind inside, nothing before it)
/// piped into one command with no further `|` or `;`: the string, and the command text.
fn one_string_piped(line: &str) -> Option<(&str, &str)> {
    let quote = line.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = line[1..].find(quote)? + 1;
    let left = &line[..=end];
    let rest = line[end + 1..].trim_start().strip_prefix('|')?.trim();
    (!rest.contains(['|', ';'])).then_some((left, rest))
}

/// The command line in `"CMD" | Should -ReturnZeroExitCode` (or `-MatchCommandOutput`),
/// which runs `CMD`.
fn pester_command(line: &str) -> Option<String> {
    let (left, right) = one_string_piped(line)?;
    let right = right.to_ascii_lowercase();
    let runs = right.starts_with("should ")
        && (right.contains("-returnzeroexitcode") || right.contains("-matchcommandoutput"));
    if !runs {
        return None;
    }
    Some(left[1..left.len() - 1].to_string())
}

/// `Join-Path A B` (two plain operands) as `A/B`.
fn join_path(value: &str) -> Option<String> {
    let rest = value
        .strip_prefix("Join-Path ")
        .or_else(|| value.strip_prefix("join-path "))?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [a, b] if !a.starts_with('-') && !b.starts_with('-') => Some(format!("{a}/{b}")),
        _ => None,
    }
}

/// Where the first `)` outside quotes is.
fn unquoted_close(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == ')' => return Some(i),
            None => {}
        }
    }
    None
}

/// One line of PowerShell as shell text.
fn line_as_shell(line: &str) -> String {
    let line = strip_comment(line).replace('\\', "/");
    let mut t = fold_names(line.trim());
    if let Some(call) = download_file_call(&t) {
        return call;
    }
    // `"python -c '…'" | Should -ReturnZeroExitCode`: a Pester operator (runner-images'
    // tests) that runs the string as a command line.
    if let Some(command) = pester_command(&t) {
        return command;
    }
    // `"$dir\bin" | Out-File -Append -FilePath $env:GITHUB_PATH`: output appended to a file.
    if let Some(appended) = out_file(&t) {
        return appended;
    }
    // A string alone on a line is output, not a command (`'Install-Binary'` in a list).
    if t.starts_with(['\'', '"']) {
        return format!("echo {t}");
    }
    t = flatten_arrays(&t);
    if let Some(rest) = t.strip_prefix("& ").or_else(|| t.strip_prefix('&')) {
        t = rest.trim_start().to_string();
    }
    let continued = t.ends_with('`');
    t = t.replace('`', "");
    if continued {
        t = format!("{} \\", t.trim_end());
    }
    for kw in ["return ", "write-output ", "Write-Output "] {
        if let Some(rest) = t.strip_prefix(kw) {
            return format!("echo {rest}");
        }
    }
    // `$name = value`: a command's output becomes `name=$(command)`.
    if let Some(rest) = t.strip_prefix('$') {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        let after = after.trim_start();
        if !name.is_empty() && after.starts_with('=') && !after.starts_with("==") {
            let value = after[1..].trim();
            // `$p = Join-Path A B` is the path `A/B`.
            if let Some(joined) = join_path(value) {
                return format!("{name}={joined}");
            }
            let command =
                value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '(' || c == '&');
            let value = value.trim_start_matches('&').trim_start();
            return if command && !value.ends_with('{') {
                format!("{name}=$( {value})")
            } else {
                format!("{name}={value}")
            };
        }
    }
    t
}

/// The text with `<# … #>` block comments blanked, line for line.
fn without_block_comments(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut in_block = false;
    for line in code.lines() {
        let mut l = line;
        if in_block {
            match l.find("#>") {
                Some(i) => {
                    in_block = false;
                    l = &l[i + 2..];
                }
                None => l = "",
            }
        }
        if let Some(i) = l.find("<#") {
            in_block = !l[i..].contains("#>");
            l = &l[..i];
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// PowerShell text as shell text, line for line.
pub(crate) fn as_shell(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 16);
    let mut continued = false;
    let mut open_array = false;
    let mut pending_close = false;
    for line in without_block_comments(code).lines() {
        let mut t = if continued {
            // Inside a command continued with a backtick: no line is a command of its own.
            let mut trimmed = line.trim_start().to_string();
            if open_array {
                if let Some(i) = unquoted_close(&trimmed) {
                    trimmed.remove(i);
                    open_array = false;
                }
            }
            line_as_shell(&format!("x {trimmed}"))
                .strip_prefix("x ")
                .map(str::to_string)
                .unwrap_or_default()
        } else {
            line_as_shell(line)
        };
        // `-InstallArgs @(` continued over the next lines, up to the `)`.
        if let Some(head) = t.strip_suffix(" @( \\").or_else(|| t.strip_suffix(" @(")) {
            open_array = true;
            t = format!("{head} \\");
        }
        // `$p = Start-Process `⏎ …`: the substitution closes where the command ends.
        if let Some(head) = t.strip_suffix(" \\)") {
            t = format!("{head} \\");
            pending_close = true;
        }
        continued = t.ends_with('\\');
        if !continued && pending_close {
            t.push_str(" )");
            pending_close = false;
        }
        out.push_str(&t);
        out.push('\n');
    }
    out
}

/// Scans PowerShell text whose first line is `first_line`, knowing the functions
/// `helpers` has learnt elsewhere.
pub(crate) fn scan(code: &str, first_line: usize, helpers: &Helpers) -> Vec<Finding> {
    let mut out = guard::scan_shell_with(&as_shell(code), first_line, helpers);
    add_powershell_lines(&mut out, &without_block_comments(code), first_line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(code: &str) -> Vec<(usize, &'static str)> {
        let mut h = Helpers::default();
        h.learn(&as_shell(code));
        scan(code, 1, &h)
            .into_iter()
            .map(|f| (f.line, f.rule))
            .collect()
    }

    #[test]
    fn rewrites_line_for_line() {
        let ps = "<#\n  doc\n#>\n$p = Invoke-DownloadWithRetry -Url $U # c\n& $P -y `\n  -x\n(New-Object Net.WebClient).DownloadFile($u, \"C:\\t\\a.exe\")\n$r = Start-Process `\n  -FilePath $i `\n  -Wait\n";
        assert_eq!(
            as_shell(ps),
            "\n\n\np=$( Invoke-DownloadWithRetry -Url $u)\n$p -y \\\n-x\ncurl -o \"C:/t/a.exe\" $u\nr=$( Start-Process \\\n-FilePath $i \\\n-Wait )\n"
        );
    }

    #[test]
    fn a_helper_that_returns_its_download_and_what_runs_it() {
        let ps = "function Invoke-DownloadWithRetry {\n    param([string] $Url, [string] $Path)\n    Invoke-WebRequest -Uri $Url -OutFile $Path -UseBasicParsing\n    return $Path\n}\n$installScriptPath = Invoke-DownloadWithRetry -Url \"https://dot.net/v1/dotnet-install.ps1\"\n& $installScriptPath -Channel 8.0\n$ok = Invoke-DownloadWithRetry -Url $u\nif ((Get-FileHash $ok).Hash -ne $sum) { throw 'bad' }\nStart-Process -FilePath $ok -Wait\nInvoke-DownloadWithRetry -Url $g -Path \"C:\\ghcup\\bin\\ghcup.exe\"\nghcup list\n";
        assert_eq!(rules(ps), vec![(7, "GUARD005"), (12, "GUARD005")]);
    }

    #[test]
    fn an_installer_helper_whose_check_depends_on_a_parameter() {
        let helpers = "function Invoke-DownloadWithRetry {\n    param([string] $Url, [string] $Path)\n    Invoke-WebRequest -Uri $Url -OutFile $Path\n    return $Path\n}\nfunction Test-FileChecksum {\n    param([string] $Path, [string] $ExpectedSHA256Sum)\n    $h = (Get-FileHash -Path $Path -Algorithm SHA256).Hash\n    if ($h -ne $ExpectedSHA256Sum) { throw 'bad' }\n}\nfunction Install-Binary {\n    Param(\n        [String] $Url,\n        [String] $ExpectedSHA256Sum,\n        [String] $ExpectedSubject\n    )\n    $filePath = Invoke-DownloadWithRetry -Url $Url -Path \"$env:TEMP\\x.exe\"\n    if ($PSBoundParameters.ContainsKey('ExpectedSubject')) {\n        Get-AuthenticodeSignature $filePath\n    }\n    if ($ExpectedSHA256Sum) {\n        Test-FileChecksum $filePath -ExpectedSHA256Sum $ExpectedSHA256Sum\n    }\n    Start-Process -FilePath $filePath -Wait\n}\n";
        let calls = "Install-Binary -Url $u1 `\n    -ExpectedSHA256Sum $sum\nInstall-Binary -Type MSI `\n    -Url \"https://aka.ms/cosmosdb-emulator\"\nInstall-Binary -Url $u3 -ExpectedSubject $subject\nInstall-Binary @installArgs\nInstall-Binary `\n  -Url $u `\n  -InstallArgs (\"/silent\", \"/install\") `\n  -ExpectedSubject 'CN=\"A, Inc.\", O=\"A, Inc.\"'\nExport-ModuleMember -Function @(\n    'Install-Binary'\n)\nInstall-Binary -Url $v.DownloadUri -InstallArgs @('/install', '/quiet')\nInstall-Binary `\n  -Url $g `\n  -InstallArgs @(`\n    \"/VERYSILENT\", `\n    \"/COMPONENTS=gitlfs\") `\n  -ExpectedSHA256Sum $h\n";
        let mut h = Helpers::default();
        h.learn_shared(&as_shell(helpers));
        h.freeze();
        let found: Vec<(usize, &str)> = scan(calls, 1, &h)
            .iter()
            .map(|f| (f.line, f.rule))
            .collect();
        assert_eq!(
            found,
            vec![(3, "GUARD005"), (14, "GUARD005")],
            "{}",
            as_shell(calls)
        );
        // The helper's own body, read on its own, runs nothing unverified.
        let body: Vec<String> = scan(helpers, 1, &h)
            .iter()
            .map(|f| format!("{}:{} {}", f.line, f.rule, f.message))
            .collect();
        assert!(body.is_empty(), "{body:?}");
        // A check behind a variable the helper computes itself is not the caller's choice.
        let own = "function Install-It {\n    param([string] $Url)\n    $p = Invoke-DownloadWithRetry -Url $Url -Path \"C:\\i.exe\"\n    $check = $true\n    if ($check) {\n        Test-FileChecksum $p -ExpectedSHA256Sum 'ab'\n    }\n    Start-Process -FilePath $p\n}\nInstall-It -Url $u\n";
        let mut h2 = h.clone();
        h2.learn(&as_shell(own));
        assert!(scan(own, 1, &h2).is_empty());
    }
}
