//! Names that become files: safe as one file name on Linux, macOS and Windows.

/// Windows device names: a file of this base name (with any extension, in any case)
/// opens the device instead.
/// Windows device names (any extension, any case): the DOS devices, `COM0`–`COM9`
/// and `LPT0`–`LPT9` with the superscript digits Windows also maps, and the console
/// and clock devices.
const WINDOWS_RESERVED: [&str; 33] = [
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "COM0",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "COM\u{b9}",
    "COM\u{b2}",
    "COM\u{b3}",
    "LPT0",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "LPT\u{b9}",
    "LPT\u{b2}",
    "LPT\u{b3}",
    "CONIN$",
    "CONOUT$",
    "CLOCK$",
];

/// Checks that `name` is one portable file name: not empty, not `.` or `..`, no path
/// separator of any platform (`/`, `\`), no drive or stream separator (`:`), no
/// control character, none of the characters Windows forbids (`<>"|?*`), no trailing
/// dot or space (Windows drops them), and not a Windows device name such as `CON`
/// or `nul.txt`.
///
/// Guarantee: a name this accepts, joined to a directory, names a file directly in
/// that directory on every supported platform.
///
/// # Errors
/// What is wrong with the name, for an error message.
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("{name:?} is not a file name"));
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_control() || matches!(c, '/' | '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*')
    }) {
        return Err(format!(
            "{name:?} holds {c:?}, which is a path separator or not allowed in a file name on some platform"
        ));
    }
    if name.ends_with(['.', ' ']) {
        return Err(format!(
            "{name:?} ends in a dot or a space, which Windows drops"
        ));
    }
    let base = name.split('.').next().unwrap_or(name).trim_end();
    if WINDOWS_RESERVED
        .iter()
        .any(|reserved| base.eq_ignore_ascii_case(reserved))
    {
        return Err(format!("{name:?} is a device name on Windows"));
    }
    Ok(())
}

/// True when the target path `path` has a `.` or `..` segment: URL resolution (RFC
/// 3986 §5.2.4, and the URL Standard even for `%2E`) and servers fold such a segment
/// into another path, so the target cannot be requested as itself.
pub fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|s| s == "." || s == "..")
}

/// Whether this platform's usual file systems compare names without case (NTFS, APFS
/// and HFS+ as formatted by default).
pub const CASE_INSENSITIVE_FILE_SYSTEMS: bool = cfg!(any(windows, target_os = "macos"));

/// Makes an already percent-encoded name (only `A-Za-z0-9_.-~` and `%XX` left) safe as
/// a local file name on every platform, keeping distinct names distinct:
///
/// - a Windows device base name (`CON`, `nul.json`) gets its first character
///   percent-encoded (`%43ON`), on every platform, so a data directory can be copied
///   between them;
/// - a trailing dot, which Windows drops, is encoded (`%2E`);
/// - with `case_insensitive` (see [`CASE_INSENSITIVE_FILE_SYSTEMS`]), ASCII capitals are
///   encoded (`App` → `%41pp`), so that `App` and `app` stay two files.
///
/// Guarantee: the result is never a device name, never ends in a dot, and is a
/// one-to-one function of its input (only characters the encoding leaves are encoded
/// further, and `%` already is).
pub fn local_file_name(encoded: &str, case_insensitive: bool) -> String {
    let mut out = String::with_capacity(encoded.len() + 6);
    let mut escape = 0;
    for (i, c) in encoded.char_indices() {
        let last = i + c.len_utf8() == encoded.len();
        if c == '%' {
            escape = 2;
            out.push(c);
        } else if escape > 0 {
            // The hex digits of an escape stay as they are.
            escape -= 1;
            out.push(c);
        } else if (case_insensitive && c.is_ascii_uppercase()) || (last && c == '.') {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    let base = out.split('.').next().unwrap_or(&out);
    if WINDOWS_RESERVED
        .iter()
        .any(|reserved| base.eq_ignore_ascii_case(reserved))
    {
        let first = out.chars().next().unwrap_or('_');
        out = format!("%{:02X}{}", first as u32, &out[first.len_utf8()..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_file_names_are_never_devices_and_keep_case_apart() {
        assert_eq!(local_file_name("CON", false), "%43ON");
        assert_eq!(local_file_name("nul.json", false), "%6Eul.json");
        assert_eq!(local_file_name("lpt1.txt.json", false), "%6Cpt1.txt.json");
        assert_eq!(local_file_name("console", false), "console");
        assert_eq!(local_file_name("x.", false), "x%2E");
        assert_eq!(local_file_name("App", false), "App");
        assert_eq!(local_file_name("App", true), "%41pp");
        assert_eq!(local_file_name("CON", true), "%43%4F%4E");
        assert_eq!(local_file_name("a%2Fb", true), "a%2Fb");
        // Distinct names stay distinct files, also where case is ignored.
        let raw = [
            "CON", "con", "App", "app", "x.", "x", "%43ON", "nul", "NUL.json", "a/b",
        ];
        for ci in [false, true] {
            let mut outs: Vec<String> = raw
                .iter()
                .map(|n| local_file_name(&crate::store::encode_name(n), ci))
                .map(|n| if ci { n.to_ascii_lowercase() } else { n })
                .collect();
            outs.sort();
            outs.dedup();
            assert_eq!(outs.len(), raw.len(), "{outs:?}");
        }
    }

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            "migrate",
            "migrate.exe",
            "r\u{e9}sum\u{e9}.txt",
            "a b",
            ".hidden",
            "con-fig",
            "nul_x",
        ] {
            assert!(check_file_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_what_escapes_or_misbehaves_somewhere() {
        for name in [
            "",
            ".",
            "..",
            "a/b",
            "..\\evil",
            "c:evil",
            "C:",
            "evil\u{0}",
            "a\nb",
            "x?",
            "x*",
            "a|b",
            "trailing.",
            "trailing ",
            "CON",
            "con",
            "Nul.txt",
            "com1",
            "LPT9.log",
            "aux .txt",
            "COM0",
            "lpt0.txt",
            "COM\u{b9}",
            "lpt\u{b3}.log",
            "CONIN$",
            "conout$.txt",
            "CLOCK$",
        ] {
            assert!(check_file_name(name).is_err(), "{name:?}");
        }
    }
}
