//! Shell text: scripts run on hosts are sh, and every value put into one
//! goes through here.

/// Single-quotes `s` for sh.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:=@,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            shell_quote("/etc/nginx/nginx.conf"),
            "/etc/nginx/nginx.conf"
        );
        assert_eq!(shell_quote("root:www-data"), "root:www-data");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
