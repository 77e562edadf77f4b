//! Files written by downloads within one script, and whether a checksum or signature
//! check ran on them before they are executed (rule GUARD005, CWE-494).

/// A file some earlier command downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Download {
    pub path: String,
    pub line: usize,
    pub verified: bool,
    pub reported: bool,
    /// Written by a decoder (`base64 -d > f`), not a download.
    pub decoded: bool,
}

/// State carried across the commands of one script, in execution order.
#[derive(Debug, Default)]
pub(crate) struct FileTracker {
    downloads: Vec<Download>,
    /// Directories unpacked from unverified downloads: (directory, download line).
    /// An empty directory is the current one, and then holds the archive's name without
    /// its extensions after a `./` (a tarball usually unpacks into a directory named so).
    unpacked: Vec<(String, usize)>,
}

/// `./a/b` → `a/b`, `${f}` → `$f`; quotes are already removed by the parser.
pub(crate) fn norm(path: &str) -> String {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./").or_else(|| p.strip_prefix(".\\")) {
        p = rest;
    }
    // `${name}` → `$name` wherever it is (`$DIR/${name}.rb`).
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j)
                if j > 0
                    && after[..j]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push_str(&rest[..i]);
                out.push('$');
                out.push_str(&after[..j]);
                rest = &after[j + 1..];
            }
            _ => {
                out.push_str(&rest[..i + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Last path segment of a URL (`https://x/y/install.sh?v=1` → `install.sh`).
fn url_basename(url: &str) -> Option<String> {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    let after_scheme = no_query.split_once("://").map_or(no_query, |(_, r)| r);
    let (_, path) = after_scheme.split_once('/')?;
    let base = path.rsplit('/').next().unwrap_or("");
    (!base.is_empty()).then(|| base.to_string())
}

/// Files a download command writes (`curl -o F`, `curl -O URL`, `wget URL`,
/// `wget -O F`, or stdout redirected with `> F`). `args` excludes the program name.
pub(crate) fn download_outputs(
    name: &str,
    args: &[String],
    stdout_to: Option<&str>,
) -> Vec<String> {
    let urls: Vec<&String> = args.iter().filter(|a| a.contains("://")).collect();
    let mut out = Vec::new();
    let mut to_stdout = true;
    let mut remote_name = false;
    let mut dir: Option<String> = None;
    let (out_short, out_long, arg_letters): (char, &str, &str) = match name {
        "curl" => ('o', "--output", "dDeEHKmrtuUxXyYzAbcCFPQTw"),
        "wget" | "wget2" => ('O', "--output-document", "aedohiPtTUwAIDXQ"),
        "aria2c" => {
            // `-o NAME`/`--out=NAME` in `-d DIR`/`--dir=DIR`; else the URL's last segment.
            let value = |short: &str, long: &str| {
                args.iter().enumerate().find_map(|(k, a)| {
                    a.strip_prefix(long)
                        .map(str::to_string)
                        .or_else(|| (a == short).then(|| args.get(k + 1).cloned()).flatten())
                })
            };
            let name = value("-o", "--out=").or_else(|| urls.first().and_then(|u| url_basename(u)));
            let dir = value("-d", "--dir=");
            return name
                .map(|n| match dir {
                    Some(d) => norm(&format!("{}/{n}", d.trim_end_matches('/'))),
                    None => norm(&n),
                })
                .into_iter()
                .collect();
        }
        "iwr" | "irm" | "invoke-webrequest" | "invoke-restmethod" => {
            // PowerShell: `-OutFile PATH` (any case, any unambiguous prefix of it).
            let mut outs = Vec::new();
            for (k, a) in args.iter().enumerate() {
                let lower = a.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("-outfile:") {
                    outs.push(norm(&a[a.len() - v.len()..]));
                } else if lower.len() >= 3 && "-outfile".starts_with(&lower) {
                    outs.extend(args.get(k + 1).map(|v| norm(v)));
                }
            }
            return outs;
        }
        _ => return stdout_to.map(|s| vec![norm(s)]).unwrap_or_default(),
    };
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        if let Some(v) = a.strip_prefix(&format!("{out_long}=")) {
            out.push(v.to_string());
            continue;
        }
        if a == out_long {
            out.extend(args.get(i).cloned());
            i += 1;
            continue;
        }
        if name == "curl" && (a == "--remote-name" || a == "--remote-name-all") {
            remote_name = true;
            continue;
        }
        if let Some(v) = a.strip_prefix("--directory-prefix=") {
            dir = Some(v.to_string());
            continue;
        }
        if a.starts_with("--") || !a.starts_with('-') || a == "-" {
            continue;
        }
        for (k, ch) in a.char_indices().skip(1) {
            let rest = &a[k + ch.len_utf8()..];
            if ch == out_short {
                if rest.is_empty() {
                    out.extend(args.get(i).cloned());
                    i += 1;
                } else {
                    out.push(rest.to_string());
                }
                break;
            }
            if name == "curl" && ch == 'O' {
                remote_name = true;
                continue;
            }
            if name != "curl" && ch == 'P' {
                dir = if rest.is_empty() {
                    i += 1;
                    args.get(i - 1).cloned()
                } else {
                    Some(rest.to_string())
                };
                break;
            }
            if arg_letters.contains(ch) {
                if rest.is_empty() {
                    i += 1;
                }
                break;
            }
        }
    }
    if !out.is_empty() {
        to_stdout = false;
    }
    out.retain(|o| o != "-");
    if name != "curl" && to_stdout {
        // wget writes to a file named after the URL unless told otherwise.
        to_stdout = false;
        out.extend(urls.iter().filter_map(|u| url_basename(u)));
    }
    if remote_name {
        to_stdout = false;
        out.extend(urls.iter().filter_map(|u| url_basename(u)));
    }
    if to_stdout {
        out.extend(stdout_to.map(str::to_string));
    }
    if let Some(d) = dir {
        let d = d.trim_end_matches('/').to_string();
        out = out.into_iter().map(|o| format!("{d}/{o}")).collect();
    }
    out.iter().map(|o| norm(o)).collect()
}

/// `dir/node-v20-linux-x64.tar.gz` → `node-v20-linux-x64`.
fn archive_stem(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    for ext in [
        ".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tgz", ".zip", ".7z", ".tar",
    ] {
        if lower.ends_with(ext) {
            return base[..base.len() - ext.len()].to_string();
        }
    }
    String::new()
}

/// Whether the argv checks a checksum or signature, and the words it names.
/// `args` excludes the program name.
pub(crate) fn verify_operands(name: &str, args: &[String]) -> Option<Vec<String>> {
    let has = |f: &str| args.iter().any(|a| a == f);
    let short = |c: char| {
        args.iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains(c))
    };
    let sub = |s: &[&str]| args.first().is_some_and(|a| s.contains(&a.as_str()));
    let ok = match name {
        "sha256sum" | "sha512sum" | "sha384sum" | "sha224sum" | "sha1sum" | "b2sum" | "shasum"
        | "gsha256sum" | "cksum" => has("--check") || short('c'),
        "gpg" | "gpg2" => has("--verify") || has("--verify-files"),
        "gpgv" | "gpgv2" => true,
        "cosign" => sub(&["verify-blob", "verify-blob-attestation", "verify"]),
        "minisign" | "signify" | "signify-openbsd" => short('V'),
        "openssl" => sub(&["dgst", "pkeyutl", "smime", "cms"]) && has("-verify"),
        "ssh-keygen" => has("-Y") && has("verify"),
        "slsa-verifier" | "sigstore" => true,
        // PowerShell: a file's Authenticode signature (Get-FileHash is a digest program).
        "get-authenticodesignature" => true,
        "gh" => args.first().is_some_and(|a| a == "attestation") && has("verify"),
        _ => false,
    };
    ok.then(|| {
        args.iter()
            .filter(|a| !a.starts_with('-'))
            .cloned()
            .collect()
    })
}

/// Whether `name` prints a digest (used when its output is compared in a pipeline or
/// substitution).
pub(crate) fn is_digest_program(name: &str) -> bool {
    matches!(
        name,
        "sha256sum"
            | "sha512sum"
            | "sha384sum"
            | "sha224sum"
            | "b2sum"
            | "shasum"
            | "openssl"
            | "get-filehash"
    )
}

impl FileTracker {
    /// Records files written by a download at `line`.
    pub(crate) fn downloaded(&mut self, paths: Vec<String>, line: usize) {
        for path in paths {
            self.downloads.retain(|d| d.path != path);
            self.downloads.push(Download {
                path,
                line,
                verified: false,
                reported: false,
                decoded: false,
            });
        }
    }

    /// Records a file written by a decoder at `line`.
    pub(crate) fn decoded(&mut self, path: Option<String>, line: usize) {
        if let Some(p) = path {
            self.downloaded(vec![p.clone()], line);
            if let Some(d) = self.downloads.iter_mut().find(|d| d.path == p) {
                d.decoded = true;
            }
        }
    }

    fn matches(d: &Download, word: &str) -> bool {
        let w = norm(word);
        w == d.path
            || w.strip_prefix(d.path.as_str())
                .is_some_and(|r| r.starts_with('.'))
    }

    /// Marks as verified the downloads named by `words` (exactly, or as `FILE.sha256`,
    /// `FILE.asc`, …). With `all_if_none`, when no word names a tracked download (a
    /// `SHA256SUMS` list, a checksum on stdin), every download so far counts as verified.
    pub(crate) fn verified(&mut self, words: &[String], all_if_none: bool) {
        let mut any = false;
        for d in &mut self.downloads {
            if words.iter().any(|w| Self::matches(d, w)) {
                d.verified = true;
                any = true;
            }
        }
        if !any && all_if_none {
            for d in &mut self.downloads {
                d.verified = true;
            }
        }
    }

    /// Follows `mv`/`cp`/`install` of a tracked file to its destination.
    pub(crate) fn copied(&mut self, name: &str, args: &[String]) {
        let ops: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        let ops: Vec<&String> = if name == "install" {
            // `install -m 755 SRC DST`: drop the mode value.
            let mut skip = false;
            let mut kept = Vec::new();
            for a in args {
                if skip {
                    skip = false;
                } else if a == "-m" || a == "-o" || a == "-g" || a == "-t" {
                    skip = true;
                } else if !a.starts_with('-') {
                    kept.push(a);
                }
            }
            kept
        } else {
            ops
        };
        let [src, dst] = ops.as_slice() else { return };
        let dst = {
            // `mv pkg/tool /usr/local/bin`: into a directory on PATH.
            let d = norm(dst);
            let d = d.trim_end_matches('/');
            if d.ends_with("/bin") || d.ends_with("/sbin") || d == "/bin" || dst.ends_with('/') {
                format!("{d}/{}", norm(src).rsplit('/').next().unwrap_or(""))
            } else {
                d.to_string()
            }
        };
        let dst = &dst;
        let Some(d) = self.downloads.iter().find(|d| d.path == norm(src)).cloned() else {
            // A program out of a directory unpacked from an unverified download.
            if let Some(line) = self.unpacked_line(src) {
                self.downloads.retain(|x| x.path != norm(dst));
                self.downloads.push(Download {
                    path: norm(dst),
                    line,
                    verified: false,
                    reported: false,
                    decoded: false,
                });
            }
            return;
        };
        if name == "mv" {
            self.downloads.retain(|x| x.path != d.path);
        }
        self.downloads.retain(|x| x.path != norm(dst));
        self.downloads.push(Download {
            path: norm(dst),
            ..d
        });
    }

    /// Records an extraction of `archive` (or of standard input, which carries a
    /// download when `stdin_download`) into `dir`: when what is unpacked is an unverified
    /// download, programs later run from `dir` are unverified downloads too.
    pub(crate) fn unpacked(
        &mut self,
        archive: Option<&str>,
        dir: Option<String>,
        member: Option<&str>,
        stdin_download: bool,
        line: usize,
    ) {
        let from = match archive {
            Some(a) => {
                let a = norm(a);
                self.downloads
                    .iter()
                    .find(|d| d.path == a && !d.verified)
                    .map(|d| d.line)
            }
            None => stdin_download.then_some(line),
        };
        if let Some(l) = from {
            let d = match dir {
                Some(d) => norm(&d).trim_end_matches('/').to_string(),
                // Into the current directory: only programs under a directory named like
                // the archive count (anything else may be the repository's own script).
                None => match archive.map(archive_stem) {
                    Some(stem) if !stem.is_empty() => stem,
                    // `tar -x - pkg-1.0/bin/tool`: the member's top directory.
                    _ => match member
                        .and_then(|m| norm(m).split_once('/').map(|(d, _)| d.to_string()))
                    {
                        Some(d) if !d.is_empty() && d != "." => d,
                        _ => return,
                    },
                },
            };
            self.unpacked.push((d, l));
        }
    }

    /// Whether `path` is a tracked download or lies in an unpacked directory.
    pub(crate) fn is_tracked_or_unpacked(&self, path: &str) -> bool {
        let p = norm(path);
        self.downloads.iter().any(|d| d.path == p)
            || self
                .unpacked
                .iter()
                .any(|(dir, _)| !dir.is_empty() && p.starts_with(dir.as_str()))
    }

    /// Whether `path` is a program inside a directory unpacked from an unverified
    /// download (the first such run per archive only), and that download's line.
    pub(crate) fn runs_unpacked(&mut self, path: &str) -> Option<usize> {
        let k = self.unpacked_index(path)?;
        Some(self.unpacked.remove(k).1)
    }

    /// The line of the unverified download `path` was unpacked from, if it was.
    fn unpacked_line(&self, path: &str) -> Option<usize> {
        self.unpacked_index(path).map(|k| self.unpacked[k].1)
    }

    fn unpacked_index(&self, path: &str) -> Option<usize> {
        let p = norm(path);
        self.unpacked.iter().position(|(dir, _)| {
            let plain = p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./-+$".contains(c));
            if dir.is_empty() {
                false
            } else if !dir.contains('/') && !dir.starts_with('$') {
                // Unpacked into the current directory, into a directory named like the
                // archive (`shellcheck-v0.10.0/` from `shellcheck-v0.10.0.linux.tar.xz`).
                let first = p.split('/').next().unwrap_or("");
                plain && p.contains('/') && first.len() >= 3 && dir.starts_with(first)
            } else {
                p.strip_prefix(dir.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            }
        })
    }

    /// Paths of downloads not verified and not yet reported.
    pub(crate) fn unverified_paths(&self) -> Vec<String> {
        self.downloads
            .iter()
            .filter(|d| !d.verified && !d.reported && !d.decoded)
            .map(|d| d.path.clone())
            .collect()
    }

    /// The unverified, not yet reported download at `path`, marked reported.
    pub(crate) fn unverified_exec(&mut self, path: &str) -> Option<Download> {
        let p = norm(path);
        // A bare name runs what was downloaded into a directory on the usual PATH.
        let on_path = |d: &str| {
            !p.contains('/')
                && d.rsplit_once('/').is_some_and(|(dir, base)| {
                    (base == p || base.strip_suffix(".exe") == Some(p.as_str()))
                        && (dir.ends_with("/bin") || dir.ends_with("/sbin") || dir == "/bin")
                })
        };
        let d = self
            .downloads
            .iter_mut()
            .find(|d| (d.path == p || on_path(&d.path)) && !d.verified && !d.reported)?;
        d.reported = true;
        Some(d.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn outputs() {
        assert_eq!(
            download_outputs("curl", &v(&["-fsSLo", "i.sh", "https://x/y"]), None),
            v(&["i.sh"])
        );
        assert_eq!(
            download_outputs("curl", &v(&["-fsSLO", "https://x/a/b.sh?q=1"]), None),
            v(&["b.sh"])
        );
        assert_eq!(
            download_outputs("curl", &v(&["--output=./k", "https://x"]), None),
            v(&["k"])
        );
        assert_eq!(
            download_outputs("curl", &v(&["-fsSL", "https://x/y"]), Some("z")),
            v(&["z"])
        );
        assert!(download_outputs("curl", &v(&["-H", "a: b", "https://x/y"]), None).is_empty());
        assert_eq!(
            download_outputs("wget", &v(&["https://x/t.sh"]), None),
            v(&["t.sh"])
        );
        assert_eq!(
            download_outputs("wget", &v(&["-qO", "o.sh", "https://x/t.sh"]), None),
            v(&["o.sh"])
        );
        assert!(download_outputs("wget", &v(&["-qO-", "https://x/t.sh"]), None).is_empty());
        assert_eq!(
            download_outputs("wget", &v(&["-P", "/tmp", "https://x/t.sh"]), None),
            v(&["/tmp/t.sh"])
        );
    }

    #[test]
    fn verification() {
        assert!(verify_operands("sha256sum", &v(&["-c", "f.sha256"])).is_some());
        assert!(verify_operands("sha256sum", &v(&["f"])).is_none());
        assert!(verify_operands("gpg", &v(&["--verify", "f.asc", "f"])).is_some());
        assert!(verify_operands("cosign", &v(&["verify-blob", "--key", "k", "f"])).is_some());
        assert!(verify_operands("minisign", &v(&["-Vm", "f", "-P", "k"])).is_some());
        let mut t = FileTracker::default();
        t.downloaded(v(&["a", "b"]), 1);
        t.verified(&v(&["a.asc"]), true);
        assert!(t.unverified_exec("./a").is_none());
        assert!(t.unverified_exec("b").is_some());
        assert!(t.unverified_exec("b").is_none(), "reported once");
    }
}
