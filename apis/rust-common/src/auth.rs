//! Bearer-token authentication (the contract's "Authentication"): HS256 JWTs verified with the
//! `jsonwebtoken` crate, one implementation for REST and gRPC.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::config::{AuthSettings, MIN_JWT_KEY_BYTES};

pub const MSG_MISSING_TOKEN: &str = "missing bearer token";
pub const MSG_INVALID_TOKEN: &str = "invalid token";
/// Clock skew allowed on `exp` and `nbf`, the same in every API.
pub const LEEWAY_SECONDS: f64 = 30.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header, another scheme than `Bearer`, or an empty token.
    MissingToken,
    /// A token that fails any check: format, algorithm, signature, claims.
    InvalidToken,
}

impl AuthError {
    pub fn message(self) -> &'static str {
        match self {
            AuthError::MissingToken => MSG_MISSING_TOKEN,
            AuthError::InvalidToken => MSG_INVALID_TOKEN,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for AuthError {}

/// A key shorter than [`MIN_JWT_KEY_BYTES`] bytes, refused (its text is never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTooShort;

impl fmt::Display for KeyTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the JWT key must be at least {MIN_JWT_KEY_BYTES} bytes")
    }
}

impl std::error::Error for KeyTooShort {}

/// The HMAC key of `key`'s UTF-8 bytes, at least [`MIN_JWT_KEY_BYTES`] of them.
fn decoding_key(key: &str) -> Result<Arc<DecodingKey>, KeyTooShort> {
    if key.len() < MIN_JWT_KEY_BYTES {
        return Err(KeyTooShort);
    }
    DecodingKey::from_secret(key.as_bytes())
        .map(Arc::new)
        .map_err(|_| KeyTooShort)
}

/// Verifies `Authorization` values. Cheap to clone; the key can be replaced while requests are
/// verified (a key rotated in the secrets store verifies the requests that arrive after it).
#[derive(Clone)]
pub struct Authenticator(Arc<Inner>);

struct Inner {
    key: RwLock<Arc<DecodingKey>>,
    validation: Validation,
    /// `JWT_ISSUER` is set: `iss` must be that string (the library also accepts an array).
    issuer_required: bool,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Authenticator")
            .field("issuer", &self.0.validation.iss)
            .field("audience", &self.0.validation.aud)
            .finish()
    }
}

impl Authenticator {
    /// `key` is the HS256 key (its UTF-8 bytes); the issuer and audience come from `settings`.
    pub fn new(key: &str, settings: &AuthSettings) -> Result<Self, KeyTooShort> {
        let key = decoding_key(key)?;
        // Validation::new(HS256) allows HS256 alone (the header's `alg` must be exactly that).
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` and `nbf` are checked in `verify`: the library reads them as integers only, and
        // the workspace's serde_json (`arbitrary_precision`, for attribute digits) hands it
        // fractional NumericDates in a form it refuses, where the contract accepts any number.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        // Its default refuses any token with an `aud` when no audience is expected.
        validation.validate_aud = settings.audience.is_some();
        if let Some(audience) = &settings.audience {
            validation.set_audience(&[audience]);
            validation.required_spec_claims.insert("aud".into());
        }
        // Without `required_spec_claims`, a token without `iss`/`aud` would pass their checks.
        if let Some(issuer) = &settings.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        Ok(Authenticator(Arc::new(Inner {
            key: RwLock::new(key),
            validation,
            issuer_required: settings.issuer.is_some(),
        })))
    }

    /// Replaces the key for the requests verified from now on; a short key leaves it as it is.
    pub fn set_key(&self, key: &str) -> Result<(), KeyTooShort> {
        let key = decoding_key(key)?;
        // A poisoned lock still holds a valid key: replace it all the same.
        *self
            .0
            .key
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = key;
        Ok(())
    }

    fn key(&self) -> Arc<DecodingKey> {
        self.0
            .key
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Checks the raw value of an `Authorization` header (gRPC: `authorization` metadata).
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), AuthError> {
        let token = authorization
            .and_then(bearer_token)
            .ok_or(AuthError::MissingToken)?;
        self.verify(token)
    }

    /// Verifies a compact JWS: header `alg` HS256 exactly, signature, `iss`, `aud` (the library),
    /// then `exp` and `nbf`.
    pub fn verify(&self, token: &str) -> Result<(), AuthError> {
        let claims = jsonwebtoken::decode::<Map<String, Value>>(
            token.as_bytes(),
            &self.key(),
            &self.0.validation,
        )
        .map_err(|error| {
            tracing::debug!(%error, "token refused");
            AuthError::InvalidToken
        })?
        .claims;
        if self.0.issuer_required && !claims.get("iss").is_some_and(Value::is_string) {
            return Err(AuthError::InvalidToken);
        }
        if is_current(&claims, unix_now()) {
            Ok(())
        } else {
            Err(AuthError::InvalidToken)
        }
    }
}

/// Seconds since the Unix epoch, with their fraction.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The contract's time claims: `exp` is a number with `now < exp + 30 s`; `nbf`, when present, a
/// number with `nbf - 30 s <= now`.
fn is_current(claims: &Map<String, Value>, now: f64) -> bool {
    let Some(exp) = claims.get("exp").and_then(Value::as_f64) else {
        return false;
    };
    let not_before = match claims.get("nbf") {
        None => true,
        Some(nbf) => nbf.as_f64().is_some_and(|nbf| nbf - LEEWAY_SECONDS <= now),
    };
    now < exp + LEEWAY_SECONDS && not_before
}

/// The token of `Bearer <token>`: the scheme in any case, one space, a non-empty token.
pub fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;
    use std::time::{SystemTime, UNIX_EPOCH};

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn settings(issuer: Option<&str>, audience: Option<&str>) -> AuthSettings {
        AuthSettings {
            key: Some(KEY.into()),
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
        }
    }

    /// Whole seconds (rounded down), so that boundary cases do not depend on the fraction.
    fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn token_with(algorithm: Algorithm, key: &str, claims: &Value) -> String {
        encode(
            &Header::new(algorithm),
            claims,
            &EncodingKey::from_secret(key.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn token(claims: Value) -> String {
        token_with(Algorithm::HS256, KEY, &claims)
    }

    fn plain() -> Authenticator {
        Authenticator::new(KEY, &settings(None, None)).unwrap()
    }

    fn header(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    #[test]
    fn a_valid_token_passes() {
        let good = token(json!({"exp": now() + 300, "sub": "loadgen"}));
        assert_eq!(plain().check(Some(&header(&good))), Ok(()));
        // The scheme in any case.
        for scheme in ["bearer", "BEARER", "BeArEr"] {
            let value = format!("{scheme} {good}");
            assert_eq!(plain().check(Some(value.as_bytes())), Ok(()), "{scheme}");
        }
    }

    #[test]
    fn no_usable_bearer_header_is_a_missing_token() {
        let good = token(json!({"exp": now() + 300}));
        let missing = Err(AuthError::MissingToken);
        assert_eq!(plain().check(None), missing);
        for value in [
            String::new(),
            "Bearer".into(),
            "Bearer ".into(),
            format!("Basic {good}"),
            format!("Token {good}"),
            format!("Bearer\t{good}"),
            good.clone(),
        ] {
            assert_eq!(plain().check(Some(value.as_bytes())), missing, "{value:?}");
        }
        assert_eq!(plain().check(Some(b"Bearer \xff\xfe")), missing);
        assert_eq!(AuthError::MissingToken.message(), "missing bearer token");
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        let good = token(json!({"exp": now() + 300}));
        for bad in [
            "x".to_string(),
            "a.b.c".into(),
            format!("{good}."),
            format!(" {good}"),
            good.replacen('.', "", 1),
            good[..good.len() - 1].to_string(),
        ] {
            assert_eq!(
                plain().check(Some(&header(&bad))),
                Err(AuthError::InvalidToken),
                "{bad}"
            );
        }
        assert_eq!(AuthError::InvalidToken.message(), "invalid token");
    }

    #[test]
    fn a_bad_signature_is_invalid() {
        let claims = json!({"exp": now() + 300});
        let other_key = token_with(
            Algorithm::HS256,
            "another key, also 32 bytes long!!",
            &claims,
        );
        assert_eq!(plain().verify(&other_key), Err(AuthError::InvalidToken));
        // A tampered payload under the original signature.
        let good = token(claims);
        let parts: Vec<&str> = good.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(json!({"exp": now() + 9999}).to_string());
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(plain().verify(&tampered), Err(AuthError::InvalidToken));
    }

    #[test]
    fn only_hs256_is_accepted() {
        let claims = json!({"exp": now() + 300});
        let hs384 = token_with(Algorithm::HS384, KEY, &claims);
        let hs512 = token_with(Algorithm::HS512, KEY, &claims);
        assert_eq!(plain().verify(&hs384), Err(AuthError::InvalidToken));
        assert_eq!(plain().verify(&hs512), Err(AuthError::InvalidToken));

        // `alg: none`, unsigned or carrying a valid HS256 signature of the same input.
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        for alg in ["none", "None", "NONE", "hs256", "RS256"] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
            let unsigned = format!("{header}.{payload}.");
            assert_eq!(
                plain().verify(&unsigned),
                Err(AuthError::InvalidToken),
                "{alg}"
            );
            let signed = jsonwebtoken::crypto::sign(
                format!("{header}.{payload}").as_bytes(),
                &EncodingKey::from_secret(KEY.as_bytes()).unwrap(),
                Algorithm::HS256,
            )
            .unwrap();
            let signed = format!("{header}.{payload}.{signed}");
            assert_eq!(
                plain().verify(&signed),
                Err(AuthError::InvalidToken),
                "{alg}"
            );
        }
    }

    #[test]
    fn the_time_claims_are_the_contract_formulas() {
        let at = |exp: Value, nbf: Option<Value>| {
            let mut claims = Map::new();
            claims.insert("exp".into(), exp);
            if let Some(nbf) = nbf {
                claims.insert("nbf".into(), nbf);
            }
            is_current(&claims, 1000.0)
        };
        // now < exp + 30
        assert!(at(json!(1000), None));
        assert!(at(json!(970.5), None));
        assert!(!at(json!(970), None));
        assert!(!at(json!(969.9), None));
        // nbf - 30 <= now
        assert!(at(json!(2000), Some(json!(1030))));
        assert!(at(json!(2000), Some(json!(1029.5))));
        assert!(!at(json!(2000), Some(json!(1030.5))));
        // Numbers only.
        for bad in [json!("2000"), json!(null), json!(true), json!([2000])] {
            assert!(!at(bad.clone(), None), "{bad}");
            assert!(!at(json!(2000), Some(bad.clone())), "{bad}");
        }
    }

    #[test]
    fn exp_and_nbf_may_be_fractional_or_large() {
        let auth = plain();
        let exp = now() as f64 + 300.25;
        assert_eq!(auth.verify(&token(json!({"exp": exp}))), Ok(()));
        assert_eq!(
            auth.verify(&token(json!({"exp": exp, "nbf": now() as f64 - 0.5}))),
            Ok(())
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": now() as f64 - 60.5}))),
            Err(AuthError::InvalidToken)
        );
        // Far future, as a float and beyond u64.
        assert_eq!(auth.verify(&token(json!({"exp": 1e12}))), Ok(()));
        let beyond_u64: Value = serde_json::from_str("1e30").unwrap();
        assert_eq!(auth.verify(&token(json!({"exp": beyond_u64}))), Ok(()));
    }

    #[test]
    fn exp_is_required_with_30_seconds_of_leeway() {
        let auth = plain();
        assert_eq!(
            auth.verify(&token(json!({"sub": "x"}))),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": "soon"}))),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": null}))),
            Err(AuthError::InvalidToken)
        );
        // Expired beyond the leeway.
        assert_eq!(
            auth.verify(&token(json!({"exp": now() - 31 - 2}))),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": now() - 3600}))),
            Err(AuthError::InvalidToken)
        );
        // Expired, but within the leeway.
        assert_eq!(auth.verify(&token(json!({"exp": now() - 29}))), Ok(()));
        assert_eq!(auth.verify(&token(json!({"exp": now() - 20}))), Ok(()));
        assert_eq!(auth.verify(&token(json!({"exp": now()}))), Ok(()));
    }

    #[test]
    fn nbf_is_checked_with_30_seconds_of_leeway() {
        let auth = plain();
        let exp = now() + 600;
        assert_eq!(
            auth.verify(&token(json!({"exp": exp, "nbf": now() + 60}))),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": exp, "nbf": now() + 3600}))),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": exp, "nbf": "later"}))),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": exp, "nbf": now() + 20}))),
            Ok(())
        );
        assert_eq!(
            auth.verify(&token(json!({"exp": exp, "nbf": now() - 60}))),
            Ok(())
        );
    }

    /// Asserts `auth`'s verdict on an unexpired token with `claim` set to each of `values`, or
    /// left out where a value is `None`.
    fn assert_verdicts(
        auth: &Authenticator,
        claim: &str,
        values: &[Option<Value>],
        expected: Result<(), AuthError>,
    ) {
        for value in values {
            let mut claims = json!({"exp": now() + 300});
            if let Some(value) = value {
                claims[claim] = value.clone();
            }
            assert_eq!(auth.verify(&token(claims)), expected, "{claim}: {value:?}");
        }
    }

    #[test]
    fn issuer_must_match_when_set() {
        let auth = Authenticator::new(KEY, &settings(Some("perflab"), None)).unwrap();
        assert_verdicts(&auth, "iss", &[Some(json!("perflab"))], Ok(()));
        let refused = [
            Some(json!("other")),
            Some(json!("PERFLAB")),
            Some(json!(null)),
            Some(json!(["perflab"])),
            Some(json!(1)),
            None,
        ];
        assert_verdicts(&auth, "iss", &refused, Err(AuthError::InvalidToken));
        // Unset: any issuer, or none.
        assert_verdicts(&plain(), "iss", &[Some(json!("anyone")), None], Ok(()));
    }

    #[test]
    fn audience_must_be_or_contain_it_when_set() {
        let auth = Authenticator::new(KEY, &settings(None, Some("events"))).unwrap();
        let accepted = [
            Some(json!("events")),
            Some(json!(["events"])),
            Some(json!(["other", "events"])),
        ];
        assert_verdicts(&auth, "aud", &accepted, Ok(()));
        let refused = [
            Some(json!("other")),
            Some(json!(["other"])),
            Some(json!([])),
            Some(json!(1)),
            Some(json!(null)),
            None,
        ];
        assert_verdicts(&auth, "aud", &refused, Err(AuthError::InvalidToken));
        // Unset: an `aud` in the token is ignored (jsonwebtoken's default would refuse it).
        let any = [Some(json!("anything")), Some(json!(["a", "b"])), None];
        assert_verdicts(&plain(), "aud", &any, Ok(()));
    }

    #[test]
    fn a_new_key_verifies_later_requests() {
        let auth = plain();
        let new_key = "a rotated key of at least 32 bytes";
        let claims = json!({"exp": now() + 300});
        let old_token = token(claims.clone());
        let new_token = token_with(Algorithm::HS256, new_key, &claims);
        assert_eq!(auth.verify(&new_token), Err(AuthError::InvalidToken));
        auth.clone().set_key(new_key).unwrap();
        assert_eq!(auth.verify(&new_token), Ok(()));
        assert_eq!(auth.verify(&old_token), Err(AuthError::InvalidToken));
        assert!(!format!("{auth:?}").contains(new_key));
        // A short key is refused and the current one stays.
        assert_eq!(auth.set_key(&"k".repeat(31)), Err(KeyTooShort));
        assert_eq!(auth.set_key(""), Err(KeyTooShort));
        assert_eq!(auth.verify(&new_token), Ok(()));
        assert!(Authenticator::new(&"k".repeat(31), &settings(None, None)).is_err());
    }

    #[test]
    fn bearer_token_parsing() {
        assert_eq!(bearer_token(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer_token(b"bearer a b"), Some("a b"));
        assert_eq!(bearer_token(b"Bearer  abc"), Some(" abc"));
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearerabc"), None);
        assert_eq!(bearer_token(b"Basic abc"), None);
    }
}
