//! Vocabulary: program names, download/decode/verify commands, and the signs in inline
//! code that raise its severity. Pure string functions.

/// Interpreter families we know how to read the options of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Deno,
    Bun,
    Lua,
    R,
    Osascript,
    PowerShell,
    Shell,
}

impl Family {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Family::Python => "python",
            Family::Perl => "perl",
            Family::Ruby => "ruby",
            Family::Node => "node",
            Family::Php => "php",
            Family::Deno => "deno",
            Family::Bun => "bun",
            Family::Lua => "lua",
            Family::R => "Rscript",
            Family::Osascript => "osascript",
            Family::PowerShell => "powershell",
            Family::Shell => "sh",
        }
    }
}

/// `/usr/bin/Python3.11.EXE` → `python3.11.exe` → `python3.11`: basename, lowercase,
/// without a Windows `.exe`.
pub(crate) fn program_name(arg0: &str) -> String {
    let base = arg0.rsplit(['/', '\\']).next().unwrap_or(arg0);
    let lower = base.to_ascii_lowercase();
    lower
        .strip_suffix(".exe")
        .map(str::to_string)
        .unwrap_or(lower)
}

/// The interpreter family of a program name (already through [`program_name`]),
/// ignoring version suffixes such as `3.11`, `5.36`, `-3.12`.
pub(crate) fn family(name: &str) -> Option<Family> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    Some(match stem {
        "python" | "pypy" => Family::Python,
        "perl" => Family::Perl,
        "ruby" | "jruby" => Family::Ruby,
        "node" | "nodejs" => Family::Node,
        "php" | "php-cli" => Family::Php,
        "deno" => Family::Deno,
        "bun" => Family::Bun,
        "lua" | "luajit" => Family::Lua,
        "rscript" | "r" => Family::R,
        "osascript" => Family::Osascript,
        "pwsh" | "powershell" => Family::PowerShell,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh" | "yash" | "posh" => Family::Shell,
        _ => return None,
    })
}

/// Programs that fetch bytes from the network.
pub(crate) fn is_download_program(name: &str) -> bool {
    matches!(
        name,
        "curl"
            | "wget"
            | "wget2"
            | "fetch"
            | "aria2c"
            | "http"
            | "https"
            | "xh"
            | "lwp-request"
            | "lwp-download"
            | "iwr"
            | "irm"
            | "invoke-webrequest"
            | "invoke-restmethod"
    )
}

/// Whether an argv (program name already normalised in `argv[0]`) decodes an encoding
/// (base64, base32, hex, uuencode).
pub(crate) fn is_decode_command(name: &str, args: &[String]) -> bool {
    let has = |flags: &[&str]| args.iter().any(|a| flags.contains(&a.as_str()));
    let short_has = |letter: char| {
        args.iter().any(|a| {
            a.starts_with('-') && !a.starts_with("--") && a[1..].chars().any(|c| c == letter)
        })
    };
    match name {
        "base64" | "base32" | "basenc" | "gbase64" => {
            has(&["--decode"]) || short_has('d') || short_has('D')
        }
        "openssl" => args.first().is_some_and(|a| a == "base64" || a == "enc") && has(&["-d"]),
        "xxd" => short_has('r'),
        "uudecode" => true,
        "certutil" => has(&["-decode", "/decode", "-decodehex"]),
        _ => false,
    }
}

/// Whether `code` contains `needle` as a whole token: no letter, digit or `_` directly
/// before it (when it starts with one) or after it (when it ends with one).
fn contains_token(code: &str, needle: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let first_word = needle.chars().next().is_some_and(word);
    let last_word = needle.chars().last().is_some_and(word);
    let mut from = 0;
    while let Some(i) = code.get(from..).and_then(|s| s.find(needle)) {
        let at = from + i;
        let end = at + needle.len();
        let before_ok = !first_word || !code[..at].chars().next_back().is_some_and(word);
        let after_ok = !last_word || !code[end..].chars().next().is_some_and(word);
        if before_ok && after_ok {
            return true;
        }
        from = at + needle.chars().next().map_or(1, char::len_utf8);
    }
    false
}

const DOWNLOAD_SIGNS: &[&str] = &[
    // Not `urllib` alone: `urllib.parse` (quoting, splitting URLs) downloads nothing.
    "urllib.request",
    "urllib2",
    "urllib3",
    "import request",
    "urlopen",
    "urlretrieve",
    "requests",
    "http.client",
    "httplib",
    "httpx",
    "aiohttp",
    "socket",
    "curl",
    "wget",
    "fetch",
    "xmlhttprequest",
    "require(\"https\")",
    "require('https')",
    "require(\"http\")",
    "require('http')",
    "node:https",
    "http.get",
    "https.get",
    "http.request",
    "https.request",
    "invoke-webrequest",
    "invoke-restmethod",
    "iwr",
    "irm",
    "downloadstring",
    "downloadfile",
    "downloaddata",
    "net.webclient",
    "start-bitstransfer",
    "net::http",
    "open-uri",
    "lwp::",
    "http::tiny",
    "io::socket",
    "fsockopen",
    "http://",
    "https://",
    "ftp://",
];

const DECODE_SIGNS: &[&str] = &[
    "base64",
    "b64decode",
    "decodebytes",
    "atob",
    "frombase64string",
    "decode_base64",
    "unpack(\"m",
    "unpack('m",
    "unpack1(\"m",
    "unpack1('m",
    "-encodedcommand",
    "unhexlify",
    "fromhex",
    "codecs.decode",
    "zlib.decompress",
    "marshal.loads",
    "pickle.loads",
];

const EVAL_SIGNS: &[&str] = &[
    "eval",
    "exec",
    "execfile",
    "compile",
    "invoke-expression",
    "iex",
    "loadstring",
    "instance_eval",
    "class_eval",
    "module_eval",
    "runinnewcontext",
    "runinthiscontext",
    "create_function",
];

/// Why inline code is more dangerous than usual; empty when it shows no such sign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Risks {
    pub downloads: Option<&'static str>,
    pub decodes: Option<&'static str>,
    pub evals: Option<&'static str>,
}

impl Risks {
    pub(crate) fn any(&self) -> bool {
        self.downloads.is_some() || self.decodes.is_some() || self.evals.is_some()
    }

    /// Human description, for example `downloads (urllib), evaluates (exec)`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.downloads {
            parts.push(format!("downloads ({s})"));
        }
        if let Some(s) = self.decodes {
            parts.push(format!("decodes ({s})"));
        }
        if let Some(s) = self.evals {
            parts.push(format!("evaluates ({s})"));
        }
        parts.join(", ")
    }
}

/// Looks for signs that inline code downloads, decodes or evaluates (case-insensitive,
/// whole tokens; `Function(` is matched case-sensitively as JavaScript's constructor).
pub(crate) fn code_risks(code: &str) -> Risks {
    let lower = code.to_ascii_lowercase();
    let find = |signs: &[&'static str]| signs.iter().copied().find(|s| contains_token(&lower, s));
    let mut evals = find(EVAL_SIGNS);
    if evals.is_none() && contains_token(code, "Function(") {
        evals = Some("Function(");
    }
    Risks {
        downloads: find(DOWNLOAD_SIGNS),
        decodes: find(DECODE_SIGNS),
        evals,
    }
}

/// Whether PowerShell code both downloads and invokes text as code
/// (`iex (iwr …)`, `iwr … | iex`, `IEX (New-Object Net.WebClient).DownloadString(…)`).
pub(crate) fn powershell_download_exec(code: &str) -> bool {
    let lower = code.to_ascii_lowercase();
    let exec = ["iex", "invoke-expression"]
        .iter()
        .any(|s| contains_token(&lower, s))
        || lower.contains("scriptblock]::create");
    let download = [
        "iwr",
        "irm",
        "invoke-webrequest",
        "invoke-restmethod",
        "downloadstring",
        "downloaddata",
        "net.webclient",
        "curl",
        "wget",
        "start-bitstransfer",
    ]
    .iter()
    .any(|s| contains_token(&lower, s));
    exec && download
}

/// Decodes standard or URL-safe base64 (padding optional, whitespace ignored).
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Text of a PowerShell `-EncodedCommand` argument (base64 of UTF-16LE), if it decodes.
pub(crate) fn decode_powershell_encoded(arg: &str) -> Option<String> {
    let bytes = decode_base64(arg)?;
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    Some(
        char::decode_utf16(units)
            .map(|r| r.unwrap_or('\u{FFFD}'))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_families() {
        assert_eq!(program_name("/usr/bin/python3.11"), "python3.11");
        assert_eq!(program_name("C:\\Windows\\PowerShell.exe"), "powershell");
        assert_eq!(family("python3.11"), Some(Family::Python));
        assert_eq!(family("perl5.36"), Some(Family::Perl));
        assert_eq!(family("lua5.4"), Some(Family::Lua));
        assert_eq!(family("rscript"), Some(Family::R));
        assert_eq!(family("bash"), Some(Family::Shell));
        assert_eq!(family("sed"), None);
        assert_eq!(family("pythonista"), None);
    }

    #[test]
    fn tokens_respect_boundaries() {
        assert!(contains_token("x=eval(1)", "eval"));
        assert!(!contains_token("medieval", "eval"));
        assert!(!contains_token("evaluate", "eval"));
        assert!(!contains_token("websocket", "socket"));
        assert!(contains_token("import socket", "socket"));
    }

    #[test]
    fn risks() {
        assert!(code_risks("import urllib.request").downloads.is_some());
        assert!(code_risks("from urllib import request").downloads.is_some());
        assert!(code_risks("import urllib3; urllib3.PoolManager()")
            .downloads
            .is_some());
        // Quoting a URL is not downloading one.
        assert!(
            code_risks("from urllib.parse import quote_plus; print(quote_plus(x))")
                .downloads
                .is_none()
        );
        assert!(code_risks("import base64;exec(base64.b64decode('x'))")
            .decodes
            .is_some());
        assert!(code_risks("new Function('x')()").evals.is_some());
        assert!(!code_risks("print(1)").any());
        assert!(!code_risks("s/function/fn/").any());
    }

    #[test]
    fn base64_and_utf16() {
        assert_eq!(decode_base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64("not base64!"), None);
        // "iex x" in UTF-16LE
        assert_eq!(
            decode_powershell_encoded("aQBlAHgAIAB4AA==").as_deref(),
            Some("iex x")
        );
    }

    #[test]
    fn decode_commands() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_decode_command("base64", &a(&["-d"])));
        assert!(is_decode_command("base64", &a(&["--decode"])));
        assert!(!is_decode_command("base64", &a(&["file"])));
        assert!(is_decode_command("openssl", &a(&["base64", "-d"])));
        assert!(is_decode_command("xxd", &a(&["-r", "-p"])));
    }
}
