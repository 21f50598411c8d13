//! What a name may be: a stack's, a network's, a server's, a lab's, a DNS
//! label and a DNS name in a zone, each with the reason it is not one.

/// Longest stack, network or server name: it names containers
/// (`<stack>-<server>`), Docker networks and host names.
pub const MAX_NAME: usize = 40;
/// Longest DNS label (RFC 1035).
pub(super) const MAX_LABEL: usize = 63;
/// Longest DNS name, dots included, without the final dot (RFC 1035).
pub(super) const MAX_DNS_NAME: usize = 253;

/// Why `s` is no valid name of at most `max` characters: lowercase letters,
/// digits and `-`, not at either end. None when it is one.
pub(super) fn name_problem(s: &str, max: usize) -> Option<String> {
    if s.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "has `{c}`: only lowercase letters, digits and `-` are allowed"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("starts or ends with `-`".into());
    }
    let n = s.chars().count();
    if n > max {
        return Some(format!("is {n} characters long: at most {max} are allowed"));
    }
    None
}

/// Why `lab` is no valid lab name (the same rule as a stack's).
pub(super) fn lab_name_problem(lab: &str) -> Option<String> {
    name_problem(lab, MAX_NAME)
}

/// A stack, network or server name: lowercase letters, digits and `-`, not
/// at the ends, at most [`MAX_NAME`] characters.
pub fn valid_name(s: &str) -> bool {
    name_problem(s, MAX_NAME).is_none()
}

/// Why `label` is no valid DNS label (of at most 63 characters).
pub(super) fn label_problem(label: &str) -> Option<String> {
    name_problem(label, MAX_LABEL)
}

/// Why `name` (relative to `domain`, or `@`) is no valid DNS name.
pub(super) fn dns_name_problem(name: &str, domain: &str) -> Option<String> {
    if name == "@" {
        return None;
    }
    for label in name.split('.') {
        if let Some(p) = name_problem(label, MAX_LABEL) {
            return Some(format!("label `{label}` {p}"));
        }
    }
    let full = name.len() + 1 + domain.len();
    (full > MAX_DNS_NAME).then(|| {
        format!(
            "with the domain it is {full} characters long: a DNS name is at most {MAX_DNS_NAME}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_is_wrong_with_them() {
        assert_eq!(name_problem("web-01", MAX_NAME), None);
        assert_eq!(
            name_problem("Web_01", MAX_NAME).as_deref(),
            Some("has `W`: only lowercase letters, digits and `-` are allowed")
        );
        assert_eq!(
            name_problem("web-", MAX_NAME).as_deref(),
            Some("starts or ends with `-`")
        );
        let long = "a".repeat(41);
        assert_eq!(
            name_problem(&long, MAX_NAME).as_deref(),
            Some("is 41 characters long: at most 40 are allowed")
        );
        assert!(valid_name(&"a".repeat(40)));
        assert!(!valid_name(""));
    }

    #[test]
    fn dns_names_have_labels_of_63_and_253_in_all() {
        assert_eq!(dns_name_problem("@", "foobar.com"), None);
        assert_eq!(dns_name_problem("www.eu", "foobar.com"), None);
        assert_eq!(dns_name_problem(&"a".repeat(63), "foobar.com"), None);
        assert!(dns_name_problem(&"a".repeat(64), "foobar.com")
            .unwrap()
            .ends_with("is 64 characters long: at most 63 are allowed"));
        let long = vec!["a".repeat(60); 4].join(".");
        assert_eq!(
            dns_name_problem(&long, "foobar.com").as_deref(),
            Some("with the domain it is 254 characters long: a DNS name is at most 253")
        );
    }
}
