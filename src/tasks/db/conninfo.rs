//! Connection strings in logs: the password masked, in both forms PostgreSQL accepts.

/// The Unix-socket directories a connection string names (`host=/dir`, or
/// `host=%2Fdir` in a URL); empty for TCP hosts or an unparsable string.
pub fn socket_dirs(url: &str) -> Vec<std::path::PathBuf> {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return Vec::new();
    };
    let unix = config.get_hosts().iter().filter_map(|host| match host {
        tokio_postgres::config::Host::Unix(dir) => Some(dir.clone()),
        _ => None,
    });
    unix.collect()
}

/// The URL with any password replaced by `***`, for logs (URL and key=value forms).
pub fn mask_password(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                let start = scheme_end + 3 + colon + 1;
                return format!("{}***{}", &url[..start], &url[scheme_end + 3 + at..]);
            }
        }
        return url.to_string();
    }
    mask_keyword_password(url)
}

/// Masks `password=value` / `password='quoted value'` in a key=value string.
fn mask_keyword_password(url: &str) -> String {
    let Some(pos) = url
        .match_indices("password")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || url[..i].ends_with(char::is_whitespace))
    else {
        return url.to_string();
    };
    let after_key = url[pos + "password".len()..].trim_start();
    let Some(value) = after_key.strip_prefix('=').map(str::trim_start) else {
        return url.to_string();
    };
    let value_start = url.len() - value.len();
    let value_len = if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        let end = quoted.char_indices().find(|&(_, c)| {
            let close = c == '\'' && !escaped;
            escaped = c == '\\' && !escaped;
            close
        });
        end.map_or(value.len(), |(i, _)| i + 2)
    } else {
        value.find(char::is_whitespace).unwrap_or(value.len())
    };
    format!(
        "{}***{}",
        &url[..value_start],
        &url[value_start + value_len..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL keeps everything but its password.
    #[test]
    fn url_password_is_masked() {
        assert_eq!(
            mask_password("postgres://app:s3cr%40t@db:5432/prefork?sslmode=disable"),
            "postgres://app:***@db:5432/prefork?sslmode=disable"
        );
    }

    /// URLs without a password, and socket paths, are left alone.
    #[test]
    fn url_without_password_unchanged() {
        for url in [
            "postgres://app@db/prefork",
            "postgresql:///prefork?host=/tmp/pg",
        ] {
            assert_eq!(mask_password(url), url);
        }
    }

    /// A key=value string has its password value masked.
    #[test]
    fn keyword_password_is_masked() {
        assert_eq!(
            mask_password("host=/tmp dbname=prefork password=hunter2 user=app"),
            "host=/tmp dbname=prefork password=*** user=app"
        );
        assert_eq!(
            mask_password("host=/tmp dbname=prefork"),
            "host=/tmp dbname=prefork"
        );
    }

    /// Passwords are masked in both URL forms; everything else is kept.
    #[test]
    fn mask_password_hides_only_the_password() {
        assert_eq!(
            mask_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(mask_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            mask_password("host=/x password=secret user=u"),
            "host=/x password=*** user=u"
        );
        assert_eq!(
            mask_password("password = 'a b\\'c' user=u"),
            "password = *** user=u"
        );
        assert_eq!(mask_password("host=/x user=u"), "host=/x user=u");
    }
}
