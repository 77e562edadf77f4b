//! The path of an archive entry, checked before it is joined to anything.

use crate::names::check_file_name;

/// The longest entry path accepted, in bytes (Linux's `PATH_MAX`).
const MAX_PATH_BYTES: usize = 4096;

/// The deepest entry path accepted, in segments.
const MAX_DEPTH: usize = 128;

/// A relative path inside an application tree: one or more `/`-separated segments,
/// each a portable file name ([`check_file_name`]: no `\`, `:`, control character,
/// Windows device name or trailing dot).
///
/// Guarantee: joined to a directory, it names something *inside* that directory on
/// every platform, before any symbolic link is followed: it is never absolute, has
/// no drive or stream prefix, and has no `..` segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryPath(String);

impl EntryPath {
    /// Parses the raw name of an archive entry. A leading `./`, `.` segments, and
    /// a trailing `/` (a directory's name) are dropped.
    ///
    /// # Errors
    /// What is wrong, for an error message: not UTF-8, empty, absolute, a `..`
    /// segment, an empty segment inside the path, too long or too deep, or a segment
    /// that is not a portable file name.
    pub fn parse(raw: &[u8]) -> Result<EntryPath, String> {
        let text = std::str::from_utf8(raw).map_err(|_| "is not valid UTF-8".to_string())?;
        if text.len() > MAX_PATH_BYTES {
            return Err(format!("is longer than {MAX_PATH_BYTES} bytes"));
        }
        if text.starts_with('/') {
            return Err("is an absolute path".into());
        }
        let body = text.strip_suffix('/').unwrap_or(text);
        let mut segments = Vec::new();
        for segment in body.split('/') {
            match segment {
                "." => continue,
                ".." => return Err("has a `..` segment".into()),
                "" => return Err("has an empty segment".into()),
                name => {
                    check_file_name(name)?;
                    segments.push(name);
                }
            }
        }
        if segments.is_empty() {
            return Err("names the archive's root, not an entry".into());
        }
        if segments.len() > MAX_DEPTH {
            return Err(format!("is more than {MAX_DEPTH} directories deep"));
        }
        Ok(EntryPath(segments.join("/")))
    }

    /// The normalised path, `/`-separated.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The directories above this path, outermost first (`a`, `a/b` for `a/b/c`).
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').map(move |(i, _)| &self.0[..i])
    }

    /// The number of directories above this path.
    pub fn depth(&self) -> usize {
        self.0.matches('/').count()
    }

    /// The key under which two paths collide on a case-insensitive file system
    /// (NTFS, APFS and HFS+ by default): the path in Unicode lower case.
    pub fn fold_key(&self) -> String {
        self.0.to_lowercase()
    }

    /// True when this path is `other` or lies inside it.
    pub fn is_within(&self, other: &EntryPath) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// The path as a native relative path.
    pub fn to_path(&self) -> std::path::PathBuf {
        self.segments().collect()
    }
}

impl std::fmt::Display for EntryPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks the target of a symbolic link at `link` and returns it unchanged.
///
/// Accepted: a relative target whose `..` segments all come first and climb no
/// higher than the link's own directory, followed by portable file names. Such a
/// target stays inside the tree however the links in it resolve: the climbing
/// happens through real directories (no entry is ever extracted through a link),
/// and what follows only descends, through links that obey the same rule.
///
/// # Errors
/// What is wrong with the target.
pub fn check_link_target(link: &EntryPath, raw: &[u8]) -> Result<String, String> {
    let target =
        std::str::from_utf8(raw).map_err(|_| "has a link target that is not UTF-8".to_string())?;
    if target.is_empty() {
        return Err("is a link with an empty target".into());
    }
    if target.len() > MAX_PATH_BYTES {
        return Err(format!(
            "has a link target longer than {MAX_PATH_BYTES} bytes"
        ));
    }
    if target.starts_with('/') {
        return Err(format!(
            "links to the absolute path {target:?}, outside the tree"
        ));
    }
    let mut climbing = true;
    let mut up = 0usize;
    for segment in target.strip_suffix('/').unwrap_or(target).split('/') {
        match segment {
            "." => continue,
            ".." if climbing => up += 1,
            ".." => {
                return Err(format!(
                    "links to {target:?}, whose `..` follows a name (only leading `..` are allowed)"
                ))
            }
            "" => return Err(format!("links to {target:?}, which has an empty segment")),
            name => {
                climbing = false;
                check_file_name(name).map_err(|why| format!("links to {target:?}: {why}"))?;
            }
        }
    }
    if up > link.depth() {
        return Err(format!("links to {target:?}, outside the tree"));
    }
    Ok(target.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        EntryPath::parse(raw.as_bytes()).unwrap().0
    }

    #[test]
    fn relative_paths_are_normalised() {
        assert_eq!(ok("a"), "a");
        assert_eq!(ok("./a/b/"), "a/b");
        assert_eq!(ok("a/./b"), "a/b");
        assert_eq!(
            ok("App.app/Contents/MacOS/App"),
            "App.app/Contents/MacOS/App"
        );
    }

    #[test]
    fn every_form_of_traversal_is_refused() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "..",
            ".",
            "./",
            "",
            "a//b",
            "C:\\x",
            "C:x",
            "a\\..\\b",
            "\\\\server\\share",
            "a/con",
            "a/NUL.txt",
            "a/b.",
            "x\0y",
            "x\ny",
        ] {
            assert!(EntryPath::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(
            EntryPath::parse(b"caf\xe9").is_err(),
            "Latin-1 is not UTF-8"
        );
        let deep = vec!["d"; MAX_DEPTH + 1].join("/");
        assert!(EntryPath::parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn ancestors_and_containment() {
        let p = EntryPath::parse(b"a/b/c").unwrap();
        assert_eq!(p.ancestors().collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(p.depth(), 2);
        let a = EntryPath::parse(b"a").unwrap();
        let ab = EntryPath::parse(b"ab").unwrap();
        assert!(p.is_within(&a) && a.is_within(&a));
        assert!(!ab.is_within(&a));
        assert_eq!(
            EntryPath::parse("Straße/ÄB".as_bytes()).unwrap().fold_key(),
            "straße/äb"
        );
    }

    #[test]
    fn link_targets_stay_inside_the_tree() {
        let link = EntryPath::parse(b"lib/sub/libx.so").unwrap();
        for good in ["libx.so.1", "../libz.so", "../../bin/app", "./a", "x/y/"] {
            assert!(check_link_target(&link, good.as_bytes()).is_ok(), "{good}");
        }
        for bad in [
            "/usr/lib/libx.so",
            "../../../etc",
            "a/../../..",
            "a/../b",
            "",
            "a//b",
            "C:\\Windows",
            "..\\..\\x",
        ] {
            assert!(check_link_target(&link, bad.as_bytes()).is_err(), "{bad:?}");
        }
        let top = EntryPath::parse(b"link").unwrap();
        assert!(check_link_target(&top, b"..").is_err());
        assert!(check_link_target(&top, b".").is_ok());
    }
}
