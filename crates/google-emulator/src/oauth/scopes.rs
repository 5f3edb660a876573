//! OAuth scopes the emulator knows: what the consent screen says about each, and which Gmail
//! methods each one allows (as the discovery document lists them).

/// A set of Gmail scopes as bits.
pub(crate) type ScopeBits = u32;

pub(crate) const MAIL: ScopeBits = 1;
pub(crate) const READONLY: ScopeBits = 1 << 1;
pub(crate) const SEND: ScopeBits = 1 << 2;
pub(crate) const MODIFY: ScopeBits = 1 << 3;
pub(crate) const COMPOSE: ScopeBits = 1 << 4;
pub(crate) const INSERT: ScopeBits = 1 << 5;
pub(crate) const LABELS: ScopeBits = 1 << 6;
pub(crate) const METADATA: ScopeBits = 1 << 7;
pub(crate) const SETTINGS_BASIC: ScopeBits = 1 << 8;
pub(crate) const SETTINGS_SHARING: ScopeBits = 1 << 9;

/// One known scope.
#[derive(Debug)]
pub(crate) struct ScopeInfo {
    pub uri: &'static str,
    /// What the consent screen says the app will be able to do.
    pub description: &'static str,
    pub bits: ScopeBits,
    /// Sign-in scopes (`openid`, `email`, `profile`) get no consent screen of their own.
    pub basic: bool,
}

const SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        uri: "https://mail.google.com/",
        description: "Read, compose, send, and permanently delete all your email from Gmail",
        bits: MAIL,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.readonly",
        description: "View your email messages and settings",
        bits: READONLY,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.send",
        description: "Send email on your behalf",
        bits: SEND,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.modify",
        description: "Read, compose, and send emails from your Gmail account",
        bits: MODIFY,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.compose",
        description: "Manage drafts and send emails",
        bits: COMPOSE,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.insert",
        description: "Add emails into your Gmail mailbox",
        bits: INSERT,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.labels",
        description: "See and edit your email labels",
        bits: LABELS,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.metadata",
        description: "View your email message metadata such as labels and headers, but not the email body",
        bits: METADATA,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.settings.basic",
        description: "See, edit, create, or change your email settings and filters in Gmail",
        bits: SETTINGS_BASIC,
        basic: false,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/gmail.settings.sharing",
        description: "Manage your sensitive mail settings, including who can manage your mail",
        bits: SETTINGS_SHARING,
        basic: false,
    },
    ScopeInfo {
        uri: "openid",
        description: "Associate you with your personal info on Google",
        bits: 0,
        basic: true,
    },
    ScopeInfo {
        uri: "email",
        description: "See your primary Google Account email address",
        bits: 0,
        basic: true,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/userinfo.email",
        description: "See your primary Google Account email address",
        bits: 0,
        basic: true,
    },
    ScopeInfo {
        uri: "profile",
        description: "See your personal info, including any personal info you've made publicly available",
        bits: 0,
        basic: true,
    },
    ScopeInfo {
        uri: "https://www.googleapis.com/auth/userinfo.profile",
        description: "See your personal info, including any personal info you've made publicly available",
        bits: 0,
        basic: true,
    },
];

pub(crate) fn lookup(uri: &str) -> Option<&'static ScopeInfo> {
    SCOPES.iter().find(|s| s.uri == uri)
}

/// The bits of a list of scope URIs (unknown ones add nothing).
pub(crate) fn bits_of<S: AsRef<str>>(scopes: &[S]) -> ScopeBits {
    scopes
        .iter()
        .filter_map(|s| lookup(s.as_ref()))
        .fold(0, |acc, s| acc | s.bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_follow_google() {
        assert_eq!(
            lookup("https://mail.google.com/").unwrap().description,
            "Read, compose, send, and permanently delete all your email from Gmail"
        );
        assert_eq!(
            bits_of(&["https://mail.google.com/", "openid", "bogus"]),
            MAIL
        );
    }
}
