//! google-emulator: a local stand-in for Google (OAuth consent pages, token endpoint, revoke, Gmail API v1).
