//! The structural layer.

use crate::detect::parse::{parse, SubstKind};

fn words(s: &str) -> Vec<Vec<String>> {
    parse(s)
        .pipelines
        .iter()
        .flat_map(|p| &p.commands)
        .map(|c| c.words.iter().map(|w| w.value.clone()).collect())
        .collect()
}

#[test]
fn words_operators_and_quotes() {
    assert_eq!(
        words("a 'b c' \"d $e\" f\\ g; h&&i||j|k & l"),
        vec![
            vec!["a", "b c", "d $e", "f g"],
            vec!["h"],
            vec!["i"],
            vec!["j"],
            vec!["k"],
            vec!["l"]
        ]
    );
    assert_eq!(
        words("a \\\n b # c | d\ne"),
        vec![vec!["a", "b"], vec!["e"]]
    );
    assert_eq!(words("if x; then y; fi"), vec![vec!["x"], vec!["y"]]);
    assert_eq!(
        words("echo \"a|b;c\" 'x&&y'"),
        vec![vec!["echo", "a|b;c", "x&&y"]]
    );
    assert_eq!(words("a 2>&1 >/dev/null b"), vec![vec!["a", "b"]]);
}

#[test]
fn substitutions_and_heredocs() {
    let p = parse("x \"$(curl -s u | head)\" `id` <(y) $((1+2))");
    let c = &p.pipelines[0].commands[0];
    assert_eq!(c.words[1].value, "$(curl -s u | head)");
    assert_eq!(c.words[1].subs[0].body[0].commands.len(), 2);
    assert_eq!(c.words[2].subs[0].kind, SubstKind::Command);
    assert_eq!(c.words[3].subs[0].kind, SubstKind::Process);
    assert!(c.words[4].subs.is_empty());
    let p = parse("cat <<-'E' >f\n\tbody $(x)\n\tE\nnext");
    assert_eq!(p.heredocs[0].body, "body $(x)\n");
    assert_eq!(p.pipelines.len(), 2);
}
