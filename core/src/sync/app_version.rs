//! The app's version, named on every request the device sends, so that the
//! bank's admin sees which phones still run an old build (phones update
//! slowly). The shell tells the core its version
//! ([`crate::Doorstep::set_app_version`]); the server checks it with
//! [`check_app_version`], the same rule.

use crate::sync::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// The header that names the app's version, e.g. `doorstep-app-version: 1.4.2 (142)`.
pub const APP_VERSION_HEADER: &str = "doorstep-app-version";

/// The longest app version, in characters.
pub const MAX_APP_VERSION_CHARS: usize = 40;

/// Whether `version` may name an app's version: 1 to
/// [`MAX_APP_VERSION_CHARS`] printable ASCII characters (letters, digits,
/// punctuation and inner spaces), so that it goes in a header as it is and
/// shows on a page as it is. The reason when not.
pub fn check_app_version(version: &str) -> Result<(), &'static str> {
    if version.is_empty() || version.len() > MAX_APP_VERSION_CHARS {
        return Err("must be 1 to 40 characters");
    }
    if !version.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err("must be printable ASCII (letters, digits, punctuation, spaces)");
    }
    if version.starts_with(' ') || version.ends_with(' ') {
        return Err("must not start or end with a space");
    }
    Ok(())
}

/// The shell's transport, naming the app's version on every request.
pub(crate) struct Labelled<'a> {
    inner: &'a dyn Transport,
    version: Option<String>,
}

impl<'a> Labelled<'a> {
    /// `inner`, naming `version` (nothing when `None`).
    pub(crate) fn new(inner: &'a dyn Transport, version: Option<String>) -> Labelled<'a> {
        Labelled { inner, version }
    }
}

impl Transport for Labelled<'_> {
    fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let named = request
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(APP_VERSION_HEADER));
        if let (Some(version), false) = (&self.version, named) {
            request
                .headers
                .push((APP_VERSION_HEADER.to_owned(), version.clone()));
        }
        self.inner.send(request)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::{APP_VERSION_HEADER, Labelled, check_app_version};
    use crate::sync::transport::{HttpRequest, HttpResponse, Transport, TransportError};

    /// Answers 204 to everything, keeping the requests' headers.
    #[derive(Default)]
    struct Recording(Mutex<Vec<Vec<(String, String)>>>);

    impl Transport for Recording {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.0.lock().unwrap().push(request.headers);
            Ok(HttpResponse {
                status: 204,
                headers: Vec::new(),
                body: Vec::new(),
            })
        }
    }

    fn named(headers: &[(String, String)]) -> Vec<&str> {
        headers
            .iter()
            .filter(|(name, _)| name == APP_VERSION_HEADER)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    fn request(headers: Vec<(String, String)>) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            path: "/v1/pull".into(),
            headers,
            body: Vec::new(),
        }
    }

    #[test]
    fn every_request_names_the_version_once_and_none_without_one() {
        let shell = Recording::default();
        let labelled = Labelled::new(&shell, Some("1.4.2 (142)".into()));
        labelled.send(request(Vec::new())).unwrap();
        // Labelled twice (sign-in registering the device): still once.
        Labelled::new(&labelled, Some("1.4.2 (142)".into()))
            .send(request(Vec::new()))
            .unwrap();
        Labelled::new(&shell, None)
            .send(request(Vec::new()))
            .unwrap();
        let sent = shell.0.lock().unwrap();
        assert_eq!(named(&sent[0]), ["1.4.2 (142)"]);
        assert_eq!(named(&sent[1]), ["1.4.2 (142)"]);
        assert!(named(&sent[2]).is_empty());
    }

    #[test]
    fn an_app_version_is_short_printable_text() {
        for good in ["1.4.2", "1.4.2 (142)", "2026.12-rc1+g35a9db0"] {
            assert_eq!(check_app_version(good), Ok(()), "{good}");
        }
        let long = "1".repeat(41);
        for bad in [
            "",
            " 1.0",
            "1.0 ",
            "1.0\r\nx-evil: 1",
            "版本 1",
            "1.0\u{202e}",
            long.as_str(),
        ] {
            assert!(check_app_version(bad).is_err(), "{bad:?}");
        }
    }
}
