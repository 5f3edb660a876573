//! The `CE` helper object Cloud Elements put in every formula script, implemented in Rust.
//!
//! Documented surface: `randomString()`, `randomEmail()`, `md5(str)`, `b64(str)`, `decode64(str)`,
//! `hmac(algo)(enc)(secret, str)` and the `hmac<Algo><Enc>(secret, str)` shortcuts.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rand::Rng;
use rquickjs::function::Opt;
use rquickjs::{Coerced, Ctx, Exception, Function, Object, Result};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HmacAlgo {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HmacAlgo {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => Self::Md5,
            "sha1" => Self::Sha1,
            "sha224" => Self::Sha224,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestEncoding {
    Hex,
    Base64,
    Base64Url,
}

impl DigestEncoding {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "hex" => Self::Hex,
            "base64" => Self::Base64,
            "base64url" => Self::Base64Url,
            _ => return None,
        })
    }

    pub(crate) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
            // Node's base64url digest has no padding.
            Self::Base64Url => URL_SAFE_NO_PAD.encode(bytes),
        }
    }
}

const ALGOS: &str = "md5, sha1, sha224, sha256, sha384, sha512";
const ENCODINGS: &str = "hex, base64, base64url";

pub(crate) fn hmac_bytes(algo: HmacAlgo, secret: &[u8], message: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
            .expect("HMAC accepts keys of any length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
    match algo {
        HmacAlgo::Md5 => run::<Hmac<Md5>>(secret, message),
        HmacAlgo::Sha1 => run::<Hmac<Sha1>>(secret, message),
        HmacAlgo::Sha224 => run::<Hmac<Sha224>>(secret, message),
        HmacAlgo::Sha256 => run::<Hmac<Sha256>>(secret, message),
        HmacAlgo::Sha384 => run::<Hmac<Sha384>>(secret, message),
        HmacAlgo::Sha512 => run::<Hmac<Sha512>>(secret, message),
    }
}

pub(crate) fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

pub(crate) fn b64(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

/// Like Node's `Buffer.from(s, 'base64')`: accepts padded or unpadded, standard or URL-safe input,
/// and turns invalid UTF-8 into U+FFFD instead of failing.
pub(crate) fn decode64(s: &str) -> Option<String> {
    let trimmed: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(&trimmed).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

const RANDOM_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub(crate) fn random_string(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| RANDOM_ALPHABET[rng.random_range(0..RANDOM_ALPHABET.len())] as char)
        .collect()
}

/// Longest string `CE.randomString(n)` will build: a typo like `randomString(1e9)` should fail
/// clearly instead of eating the step's memory outside the engine's limit.
const MAX_RANDOM_LEN: usize = 1 << 20;

fn curried_hmac<'js>(ctx: &Ctx<'js>, algo: HmacAlgo, enc: DigestEncoding) -> Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        move |secret: Coerced<String>, message: Coerced<String>| {
            enc.encode(&hmac_bytes(algo, secret.0.as_bytes(), message.0.as_bytes()))
        },
    )
}

/// Builds the `CE` object. Every helper is a native function; nothing is parsed per run.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> Result<()> {
    let ce = Object::new(ctx.clone())?;

    ce.set(
        "randomString",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, len: Opt<f64>| {
            let len = len.0.unwrap_or(10.0);
            if !(0.0..=MAX_RANDOM_LEN as f64).contains(&len) {
                return Err(Exception::throw_range(
                    &ctx,
                    &format!("CE.randomString: length must be between 0 and {MAX_RANDOM_LEN}"),
                ));
            }
            Ok(random_string(len as usize))
        })?
        .with_name("randomString")?,
    )?;
    ce.set(
        "randomEmail",
        Function::new(ctx.clone(), || {
            format!("{}@{}.example.com", random_string(10), random_string(6))
        })?
        .with_name("randomEmail")?,
    )?;
    ce.set(
        "md5",
        Function::new(ctx.clone(), |s: Coerced<String>| md5_hex(&s.0))?.with_name("md5")?,
    )?;
    ce.set(
        "b64",
        Function::new(ctx.clone(), |s: Coerced<String>| b64(&s.0))?.with_name("b64")?,
    )?;
    ce.set(
        "decode64",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, s: Coerced<String>| {
            decode64(&s.0).ok_or_else(|| {
                Exception::throw_type(&ctx, "CE.decode64: the input is not valid base64")
            })
        })?
        .with_name("decode64")?,
    )?;
    ce.set(
        "hmac",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, algo: Coerced<String>| {
            let Some(algo) = HmacAlgo::parse(&algo.0) else {
                return Err(Exception::throw_type(
                    &ctx,
                    &format!(
                        "CE.hmac: unsupported algorithm '{}' (supported: {ALGOS})",
                        algo.0
                    ),
                ));
            };
            Function::new(ctx.clone(), move |ctx: Ctx<'js>, enc: Coerced<String>| {
                let Some(enc) = DigestEncoding::parse(&enc.0) else {
                    return Err(Exception::throw_type(
                        &ctx,
                        &format!(
                            "CE.hmac: unsupported encoding '{}' (supported: {ENCODINGS})",
                            enc.0
                        ),
                    ));
                };
                curried_hmac(&ctx, algo, enc)
            })
        })?
        .with_name("hmac")?,
    )?;

    // The docs spell the encodings both `Base64` and `base64`; both names point at one function.
    for (name, algo) in [
        ("Sha1", HmacAlgo::Sha1),
        ("Sha256", HmacAlgo::Sha256),
        ("Sha512", HmacAlgo::Sha512),
        ("Md5", HmacAlgo::Md5),
    ] {
        ce.set(
            format!("hmac{name}Hex"),
            curried_hmac(ctx, algo, DigestEncoding::Hex)?,
        )?;
        let base64 = curried_hmac(ctx, algo, DigestEncoding::Base64)?;
        ce.set(format!("hmac{name}Base64"), base64.clone())?;
        ce.set(format!("hmac{name}base64"), base64)?;
    }

    globals.set("CE", ce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_known_vector() {
        assert_eq!(md5_hex("hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn base64_round_trips_non_ascii() {
        assert_eq!(b64("héllo wörld ✓"), "aMOpbGxvIHfDtnJsZCDinJM=");
        assert_eq!(
            decode64("aMOpbGxvIHfDtnJsZCDinJM=").as_deref(),
            Some("héllo wörld ✓")
        );
        assert_eq!(
            decode64("aMOpbGxvIHfDtnJsZCDinJM").as_deref(),
            Some("héllo wörld ✓")
        );
        assert_eq!(decode64("not base64!"), None);
    }

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = hmac_bytes(HmacAlgo::Sha256, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn random_strings_have_the_asked_length() {
        assert_eq!(random_string(10).len(), 10);
        assert!(
            random_string(50)
                .bytes()
                .all(|b| RANDOM_ALPHABET.contains(&b))
        );
    }
}
