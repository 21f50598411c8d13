//! English for the sentences `explain`, the kinds and the errors write:
//! lists joined with `and` or `or`, verbs agreeing with their subjects,
//! where something runs. Knows nothing of stacks or topologies, so any
//! module may use it.

/// `a`, `a and b`, `a, b and c`.
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    join_with(items, "and")
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list<S: AsRef<str>>(items: &[S]) -> String {
    join_with(items, "or")
}

/// The items joined with commas, `word` before the last.
pub fn join_with<S: AsRef<str>>(items: &[S], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(|s| s.as_ref()).collect();
            format!("{} {word} {}", init.join(", "), last.as_ref())
        }
    }
}

/// The verb form that agrees with `n` subjects: `one` for 1, else `many`.
pub fn agree<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// `on the same machine`, or `on app-01 and app-02`.
pub fn on(server: &str, targets: &[String]) -> String {
    if targets.len() == 1 && targets[0] == server {
        "on the same machine".into()
    } else {
        format!("on {}", and_list(targets))
    }
}

/// `a, b, c` with its last comma turned into `and`.
pub fn and_last(items: &str) -> String {
    match items.rfind(", ") {
        Some(i) => format!("{} and {}", &items[..i], &items[i + 2..]),
        None => items.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_lists_and_agreement() {
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(and_list(&["a", "b"]), "a and b");
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(or_list(&["a", "b"]), "a or b");
        assert_eq!(agree(1, "stands", "stand"), "stands");
        assert_eq!(agree(2, "stands", "stand"), "stand");
    }

    #[test]
    fn on_says_the_same_machine_or_names_the_targets() {
        let me = "web-01".to_string();
        assert_eq!(
            on("web-01", std::slice::from_ref(&me)),
            "on the same machine"
        );
        assert_eq!(
            on("web-01", &["app-01".into(), "app-02".into()]),
            "on app-01 and app-02"
        );
        assert_eq!(and_last("a, b, c"), "a, b and c");
        assert_eq!(and_last("a"), "a");
        assert_eq!(join_with::<&str>(&[], "and"), "");
    }
}
