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

#[cfg(test)]
mod tests {
    use super::*;

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
