//! The contract's validation: rules in the contract's order, first broken rule wins, exact messages.

use std::fmt;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::event::ValidEvent;
use crate::json_scan::{self, Limit};
use crate::rfc3339::{self, Timestamptz};

pub const MAX_ENTITIES: usize = 100;
pub const MAX_ENTITY_ID_CHARS: usize = 255;
pub const MAX_ENTITY_TYPE_CHARS: usize = 64;

pub const MSG_MALFORMED_JSON: &str = "malformed JSON";
pub const MSG_NOT_AN_OBJECT: &str = "request body must be a JSON object";
pub const MSG_HEADER: &str = "eventHeader must be an object";
pub const MSG_UUID: &str = "eventHeader.uuid must be a UUID";
pub const MSG_EVENT_NAME: &str = "eventHeader.eventName must be a non-empty string";
pub const MSG_EVENT_TYPE: &str = "eventHeader.eventType must be a non-empty string";
pub const MSG_CREATED_DATE: &str = "eventHeader.createdDate must be an RFC 3339 date-time";
pub const MSG_SAVED_DATE: &str = "eventHeader.savedDate must be an RFC 3339 date-time";
pub const MSG_BODY: &str = "eventBody must be an object";
pub const MSG_ENTITIES: &str = "eventBody.entities must be an array of 1 to 100 entities";
pub const MSG_NUL: &str = "event must not contain the NUL character (U+0000)";
pub const MSG_BODY_TOO_DEEP: &str = "request body nests deeper than 64 levels";
pub const MSG_EVENT_TOO_DEEP: &str = "event nests deeper than 64 levels";
pub const MSG_NUMBER_TOO_LONG: &str = "event contains a number longer than 100 characters";

/// Levels of objects and arrays a REST body may nest; the body itself is level 1.
pub const MAX_BODY_NESTING: usize = 64;
/// Levels a gRPC attribute value may nest: its attributes object is level 5 of the canonical
/// document, so the document stays within 64.
pub const MAX_ATTRIBUTE_NESTING: usize = 59;
/// Characters of JSON text a number may have (sign, digits, `.`, exponent), so that no language
/// spends more CPU than another on parsing or storing huge numbers.
pub const MAX_NUMBER_CHARS: usize = 100;

/// A broken rule; its text is the contract's message, returned to the client as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError(pub String);

impl ValidationError {
    fn new(message: &str) -> Self {
        ValidationError(message.to_string())
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValidationError {}

/// Validates one event and builds its canonical document. Takes the parsed event by value so the
/// attribute values move into the document without a copy.
pub fn validate_event(event: Value) -> Result<ValidEvent, ValidationError> {
    let Value::Object(mut root) = event else {
        return Err(ValidationError::new(MSG_NOT_AN_OBJECT));
    };

    let header = validate_header(&root)?;
    validate_body(&root)?;
    // The last rule, over the whole event (unknown fields and keys included), as the contract says.
    if map_contains_nul(&root) {
        return Err(ValidationError::new(MSG_NUL));
    }

    let mut header_document = Map::new();
    header_document.insert("uuid".into(), Value::String(header.uuid_text));
    header_document.insert("eventName".into(), Value::String(header.event_name.clone()));
    header_document.insert("eventType".into(), Value::String(header.event_type.clone()));
    if let Some((text, _)) = &header.created_date {
        header_document.insert("createdDate".into(), Value::String(text.clone()));
    }
    if let Some((text, _)) = &header.saved_date {
        header_document.insert("savedDate".into(), Value::String(text.clone()));
    }

    let entities = match root.remove("eventBody") {
        Some(Value::Object(mut body)) => match body.remove("entities") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let entities: Vec<Value> = entities.into_iter().map(canonical_entity).collect();

    let mut body_document = Map::new();
    body_document.insert("entities".into(), Value::Array(entities));
    let mut document = Map::new();
    document.insert("eventHeader".into(), Value::Object(header_document));
    document.insert("eventBody".into(), Value::Object(body_document));

    Ok(ValidEvent {
        uuid: header.uuid,
        event_name: header.event_name,
        event_type: header.event_type,
        created_date: header.created_date.map(|(_, instant)| instant),
        saved_date: header.saved_date.map(|(_, instant)| instant),
        document: Value::Object(document),
    })
}

struct Header {
    uuid: Uuid,
    /// The uuid exactly as sent: the document keeps what the client wrote.
    uuid_text: String,
    event_name: String,
    event_type: String,
    created_date: Option<(String, Timestamptz)>,
    saved_date: Option<(String, Timestamptz)>,
}

fn validate_header(root: &Map<String, Value>) -> Result<Header, ValidationError> {
    let Some(Value::Object(header)) = root.get("eventHeader") else {
        return Err(ValidationError::new(MSG_HEADER));
    };
    let (uuid, uuid_text) = match header.get("uuid") {
        Some(Value::String(text)) if is_uuid(text) => (
            Uuid::parse_str(text).map_err(|_| ValidationError::new(MSG_UUID))?,
            text.clone(),
        ),
        _ => return Err(ValidationError::new(MSG_UUID)),
    };
    let event_name = non_empty_string(header.get("eventName"), MSG_EVENT_NAME)?;
    let event_type = non_empty_string(header.get("eventType"), MSG_EVENT_TYPE)?;
    let created_date = optional_date(header.get("createdDate"), MSG_CREATED_DATE)?;
    let saved_date = optional_date(header.get("savedDate"), MSG_SAVED_DATE)?;
    Ok(Header {
        uuid,
        uuid_text,
        event_name,
        event_type,
        created_date,
        saved_date,
    })
}

fn validate_body(root: &Map<String, Value>) -> Result<(), ValidationError> {
    let Some(Value::Object(body)) = root.get("eventBody") else {
        return Err(ValidationError::new(MSG_BODY));
    };
    let entities = match body.get("entities") {
        Some(Value::Array(items)) if (1..=MAX_ENTITIES).contains(&items.len()) => items,
        _ => return Err(ValidationError::new(MSG_ENTITIES)),
    };
    for (i, entity) in entities.iter().enumerate() {
        validate_entity(i, entity)?;
    }
    Ok(())
}

fn validate_entity(i: usize, entity: &Value) -> Result<(), ValidationError> {
    let Value::Object(entity) = entity else {
        return Err(entity_error(i, "", "must be an object"));
    };
    let type_ok =
        matches!(entity.get("entityType"), Some(Value::String(name)) if is_entity_type(name));
    if !type_ok {
        return Err(entity_error(i, ".entityType", MSG_ENTITY_TYPE));
    }
    let id_ok = matches!(
        entity.get("entityId"),
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= MAX_ENTITY_ID_CHARS
    );
    if !id_ok {
        return Err(entity_error(i, ".entityId", MSG_ENTITY_ID));
    }
    if !matches!(entity.get("updatedAttributes"), Some(Value::Object(_))) {
        return Err(entity_error(i, ".updatedAttributes", MSG_ENTITY_ATTRIBUTES));
    }
    Ok(())
}

const MSG_ENTITY_TYPE: &str =
    "must be a name: a letter, then letters or digits, at most 64 characters";
const MSG_ENTITY_ID: &str = "must be a non-empty string of at most 255 characters";
const MSG_ENTITY_ATTRIBUTES: &str = "must be a JSON object";

/// `eventBody.entities[<i>]<field> <rule>`
fn entity_error(i: usize, field: &str, rule: &str) -> ValidationError {
    ValidationError(format!("eventBody.entities[{i}]{field} {rule}"))
}

/// Keeps the three contract fields of a validated entity, moving them out.
fn canonical_entity(entity: Value) -> Value {
    let Value::Object(mut entity) = entity else {
        return entity;
    };
    let mut document = Map::new();
    for key in ["entityType", "entityId", "updatedAttributes"] {
        if let Some(value) = entity.remove(key) {
            document.insert(key.to_string(), value);
        }
    }
    Value::Object(document)
}

fn non_empty_string(value: Option<&Value>, message: &str) -> Result<String, ValidationError> {
    match value {
        Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
        _ => Err(ValidationError::new(message)),
    }
}

/// Absent, `null` and `""` mean no date; anything else must be a contract date-time.
fn optional_date(
    value: Option<&Value>,
    message: &str,
) -> Result<Option<(String, Timestamptz)>, ValidationError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => match rfc3339::parse(text) {
            Some(instant) => Ok(Some((text.clone(), instant))),
            None => Err(ValidationError::new(message)),
        },
        Some(_) => Err(ValidationError::new(message)),
    }
}

/// `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
pub fn is_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `^[A-Za-z][A-Za-z0-9]{0,63}$`
pub fn is_entity_type(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ENTITY_TYPE_CHARS
        && b[0].is_ascii_alphabetic()
        && b.iter().all(u8::is_ascii_alphanumeric)
}

fn map_contains_nul(map: &Map<String, Value>) -> bool {
    map.iter()
        .any(|(key, value)| key.contains('\0') || contains_nul(value))
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map_contains_nul(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Parses a REST body: `malformed JSON` (also for invalid UTF-8), else `request body nests deeper
/// than 64 levels`, else `event contains a number longer than 100 characters`, else the value.
/// Malformed JSON wins over the two limits: a body that breaks one is checked in full by the
/// non-recursive [`json_scan::scan`] and never reaches serde_json, whose recursion limit therefore
/// never decides the answer and which never copies an overlong number.
pub fn parse_body(bytes: &[u8]) -> Result<Value, ValidationError> {
    if let Some(limit) = json_scan::exceeded_limit(bytes, MAX_BODY_NESTING, MAX_NUMBER_CHARS) {
        let well_formed = std::str::from_utf8(bytes).is_ok() && json_scan::scan(bytes).is_some();
        return Err(ValidationError::new(if !well_formed {
            MSG_MALFORMED_JSON
        } else if limit == Limit::Nesting {
            MSG_BODY_TOO_DEEP
        } else {
            MSG_NUMBER_TOO_LONG
        }));
    }
    serde_json::from_slice(bytes).map_err(|_| ValidationError::new(MSG_MALFORMED_JSON))
}

/// A gRPC attribute text that is JSON but breaks a limit: nesting deeper than
/// [`MAX_ATTRIBUTE_NESTING`] or a number longer than [`MAX_NUMBER_CHARS`]. The event is refused
/// by that rule (both are the last ones) unless an earlier rule refuses it first. Its value is
/// never built, so the NUL rule learns here whether the text spells U+0000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    /// The limit the text breaks; nesting when it breaks both.
    pub limit: Limit,
    pub contains_nul: bool,
}

/// gRPC carries attribute values as strings. A value that is JSON text as a whole (RFC 8259:
/// surrounding whitespace allowed, nothing after it) is stored as that JSON value; any other
/// value is stored as a JSON string. So `"12"` is 12, `"abc"` is "abc", `""` is "".
/// JSON text nesting deeper than [`MAX_ATTRIBUTE_NESTING`] or holding a number longer than
/// [`MAX_NUMBER_CHARS`] is [`OverLimit`], at any depth and length; text that is not JSON stays a
/// string however many brackets or digits it has.
pub fn attribute_from_text(text: String) -> Result<Value, OverLimit> {
    let exceeded =
        json_scan::exceeded_limit(text.as_bytes(), MAX_ATTRIBUTE_NESTING, MAX_NUMBER_CHARS);
    if let Some(limit) = exceeded {
        return match json_scan::scan(text.as_bytes()) {
            Some(scanned) => Err(OverLimit {
                limit,
                contains_nul: scanned.contains_nul,
            }),
            None => Ok(Value::String(text)),
        };
    }
    // Within the limits, so serde_json's recursion limit cannot be the reason it fails.
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => Ok(value),
        Err(_) => Ok(Value::String(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "eventHeader": {
                "uuid": "550e8400-e29b-41d4-a716-446655440000",
                "eventName": "LoanPaymentSubmitted",
                "eventType": "LoanPaymentSubmitted",
                "createdDate": "2024-01-15T10:30:00Z",
                "savedDate": "2024-01-15T10:30:05Z"
            },
            "eventBody": {"entities": [
                {"entityType": "Loan", "entityId": "loan-12345", "updatedAttributes": {"balance": 24439.75}}
            ]}
        })
    }

    fn error_of(event: Value) -> String {
        validate_event(event).expect_err("should be refused").0
    }

    fn with(mut event: Value, pointer: &str, value: Value) -> Value {
        *event
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer}")) = value;
        event
    }

    fn without(mut event: Value, pointer: &str) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        event
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(key);
        event
    }

    fn entity(i: usize) -> String {
        format!("/eventBody/entities/{i}")
    }

    #[test]
    fn the_contract_example_is_valid() {
        let event = validate_event(valid()).unwrap();
        assert_eq!(event.uuid_text(), "550e8400-e29b-41d4-a716-446655440000");
        assert_eq!(event.event_name, "LoanPaymentSubmitted");
        assert_eq!(event.entity_count(), 1);
        assert!(event.created_date.is_some() && event.saved_date.is_some());
    }

    #[test]
    fn body_must_be_an_object() {
        for body in [json!([]), json!("x"), json!(1), json!(null), json!(true)] {
            assert_eq!(error_of(body), "request body must be a JSON object");
        }
    }

    #[test]
    fn header_must_be_an_object() {
        assert_eq!(error_of(without(valid(), "/eventHeader")), MSG_HEADER);
        for value in [json!(null), json!([]), json!("h"), json!(3)] {
            assert_eq!(error_of(with(valid(), "/eventHeader", value)), MSG_HEADER);
        }
    }

    #[test]
    fn uuid_rule() {
        assert_eq!(error_of(without(valid(), "/eventHeader/uuid")), MSG_UUID);
        for value in [
            json!(null),
            json!(12),
            json!(""),
            json!("550e8400e29b41d4a716446655440000"),
            json!("{550e8400-e29b-41d4-a716-446655440000}"),
            json!("550e8400-e29b-41d4-a716-44665544000g"),
            json!("550e8400-e29b-41d4-a716-4466554400000"),
            json!(" 550e8400-e29b-41d4-a716-446655440000"),
            json!("urn:uuid:550e8400-e29b-41d4-a716-446655440000"),
        ] {
            assert_eq!(
                error_of(with(valid(), "/eventHeader/uuid", value.clone())),
                MSG_UUID,
                "{value}"
            );
        }
        // Any version, any case; the response spells it in lower case.
        let upper = with(
            valid(),
            "/eventHeader/uuid",
            json!("550E8400-E29B-41D4-A716-446655440000"),
        );
        assert_eq!(
            validate_event(upper).unwrap().uuid_text(),
            "550e8400-e29b-41d4-a716-446655440000"
        );
        assert!(validate_event(with(
            valid(),
            "/eventHeader/uuid",
            json!("00000000-0000-0000-0000-000000000000")
        ))
        .is_ok());
    }

    #[test]
    fn event_name_and_type_rules() {
        for (field, message) in [("eventName", MSG_EVENT_NAME), ("eventType", MSG_EVENT_TYPE)] {
            let pointer = format!("/eventHeader/{field}");
            assert_eq!(error_of(without(valid(), &pointer)), message);
            for value in [json!(""), json!(null), json!(5), json!(["a"])] {
                assert_eq!(error_of(with(valid(), &pointer, value)), message);
            }
            assert!(validate_event(with(valid(), &pointer, json!(" "))).is_ok());
        }
    }

    #[test]
    fn dates_may_be_absent_null_or_empty() {
        for field in ["createdDate", "savedDate"] {
            let pointer = format!("/eventHeader/{field}");
            let absent = validate_event(without(valid(), &pointer)).unwrap();
            assert!(absent.document["eventHeader"].get(field).is_none());
            for value in [json!(null), json!("")] {
                let event = validate_event(with(valid(), &pointer, value)).unwrap();
                assert!(
                    event.document["eventHeader"].get(field).is_none(),
                    "{field} left in document"
                );
            }
        }
        let event = validate_event(with(
            with(valid(), "/eventHeader/createdDate", json!(null)),
            "/eventHeader/savedDate",
            json!(""),
        ))
        .unwrap();
        assert_eq!(event.created_date, None);
        assert_eq!(event.saved_date, None);
    }

    #[test]
    fn dates_must_be_rfc3339() {
        for (field, message) in [
            ("createdDate", MSG_CREATED_DATE),
            ("savedDate", MSG_SAVED_DATE),
        ] {
            let pointer = format!("/eventHeader/{field}");
            for value in [
                json!("2024-01-15"),
                json!("2024-01-15 10:30:00Z"),
                json!("2024-02-30T10:30:00Z"),
                json!("2024-01-15T10:30:60Z"),
                json!(1705314600),
                json!(true),
                json!({}),
            ] {
                assert_eq!(
                    error_of(with(valid(), &pointer, value.clone())),
                    message,
                    "{value}"
                );
            }
            let kept = validate_event(with(
                valid(),
                &pointer,
                json!("2024-01-15T10:30:00.123+05:30"),
            ))
            .unwrap();
            assert_eq!(
                kept.document["eventHeader"][field],
                json!("2024-01-15T10:30:00.123+05:30")
            );
        }
    }

    #[test]
    fn body_must_be_an_object_and_entities_1_to_100() {
        assert_eq!(error_of(without(valid(), "/eventBody")), MSG_BODY);
        assert_eq!(error_of(with(valid(), "/eventBody", json!([]))), MSG_BODY);
        assert_eq!(
            error_of(without(valid(), "/eventBody/entities")),
            MSG_ENTITIES
        );
        for value in [json!([]), json!({}), json!(null), json!("e")] {
            assert_eq!(
                error_of(with(valid(), "/eventBody/entities", value)),
                MSG_ENTITIES
            );
        }
        let one = valid()["eventBody"]["entities"][0].clone();
        let hundred = Value::Array(vec![one.clone(); 100]);
        assert_eq!(
            validate_event(with(valid(), "/eventBody/entities", hundred))
                .unwrap()
                .entity_count(),
            100
        );
        let too_many = Value::Array(vec![one; 101]);
        assert_eq!(
            error_of(with(valid(), "/eventBody/entities", too_many)),
            MSG_ENTITIES
        );
    }

    #[test]
    fn entity_rules_name_the_index() {
        let good = valid()["eventBody"]["entities"][0].clone();
        let entities = json!([good.clone(), good.clone(), "x"]);
        assert_eq!(
            error_of(with(valid(), "/eventBody/entities", entities)),
            "eventBody.entities[2] must be an object"
        );

        let type_message = "eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters";
        for value in [
            json!(""),
            json!("1Loan"),
            json!("Loan-Payment"),
            json!("Lo an"),
            json!("Løan"),
            json!(null),
            json!(7),
            json!("A".repeat(65)),
        ] {
            assert_eq!(
                error_of(with(
                    valid(),
                    &format!("{}/entityType", entity(0)),
                    value.clone()
                )),
                type_message,
                "{value}"
            );
        }
        assert_eq!(
            error_of(without(valid(), &format!("{}/entityType", entity(0)))),
            type_message
        );
        for value in [
            json!("A"),
            json!("ServiceRecord"),
            json!("Car2"),
            json!(format!("a{}", "9".repeat(63))),
        ] {
            assert!(
                validate_event(with(
                    valid(),
                    &format!("{}/entityType", entity(0)),
                    value.clone()
                ))
                .is_ok(),
                "{value}"
            );
        }

        let id_message =
            "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters";
        for value in [
            json!(""),
            json!(null),
            json!(12),
            json!("x".repeat(256)),
            json!("é".repeat(256)),
        ] {
            assert_eq!(
                error_of(with(valid(), &format!("{}/entityId", entity(0)), value)),
                id_message
            );
        }
        // 255 code points, whatever their UTF-8 length.
        for value in [
            json!("x".repeat(255)),
            json!("é".repeat(255)),
            json!("😀".repeat(255)),
        ] {
            assert!(
                validate_event(with(valid(), &format!("{}/entityId", entity(0)), value)).is_ok()
            );
        }

        let attributes_message = "eventBody.entities[0].updatedAttributes must be a JSON object";
        assert_eq!(
            error_of(without(
                valid(),
                &format!("{}/updatedAttributes", entity(0))
            )),
            attributes_message
        );
        for value in [json!(null), json!([]), json!("{}"), json!(1)] {
            assert_eq!(
                error_of(with(
                    valid(),
                    &format!("{}/updatedAttributes", entity(0)),
                    value
                )),
                attributes_message
            );
        }
        assert!(validate_event(with(
            valid(),
            &format!("{}/updatedAttributes", entity(0)),
            json!({})
        ))
        .is_ok());
    }

    #[test]
    fn rules_apply_in_contract_order() {
        // Header before body, uuid before name, entity fields type, id, attributes; index order.
        let event = with(
            with(valid(), "/eventHeader/eventName", json!("")),
            "/eventBody",
            json!(null),
        );
        assert_eq!(error_of(event), MSG_EVENT_NAME);
        let event = with(
            with(valid(), "/eventHeader/uuid", json!("x")),
            "/eventHeader/eventName",
            json!(""),
        );
        assert_eq!(error_of(event), MSG_UUID);
        let event = with(
            with(valid(), "/eventHeader/createdDate", json!("x")),
            "/eventHeader/savedDate",
            json!("y"),
        );
        assert_eq!(error_of(event), MSG_CREATED_DATE);
        let event = with(
            valid(),
            &entity(0),
            json!({"entityId": "", "updatedAttributes": 1}),
        );
        assert!(error_of(event).contains("entityType"));
        let event = with(
            valid(),
            &entity(0),
            json!({"entityType": "Car", "entityId": "", "updatedAttributes": 1}),
        );
        assert!(error_of(event).contains("entityId"));
        let bad = json!({"entityType": "Car", "entityId": "c", "updatedAttributes": 1});
        let event = with(
            valid(),
            "/eventBody/entities",
            json!([valid()["eventBody"]["entities"][0].clone(), bad.clone(), {"entityType": ""}]),
        );
        assert_eq!(
            error_of(event),
            "eventBody.entities[1].updatedAttributes must be a JSON object"
        );
        // NUL is the last rule.
        let event = with(
            with(valid(), "/eventHeader/eventName", json!("a\u{0}")),
            "/eventBody/entities",
            json!([]),
        );
        assert_eq!(error_of(event), MSG_ENTITIES);
    }

    #[test]
    fn nul_is_refused_anywhere_keys_included() {
        let cases = [
            with(valid(), "/eventHeader/eventName", json!("a\u{0}b")),
            with(valid(), "/eventHeader/eventType", json!("\u{0}")),
            with(
                valid(),
                &format!("{}/entityId", entity(0)),
                json!("loan\u{0}"),
            ),
            with(
                valid(),
                &format!("{}/updatedAttributes", entity(0)),
                json!({"k\u{0}": 1}),
            ),
            with(
                valid(),
                &format!("{}/updatedAttributes", entity(0)),
                json!({"k": "v\u{0}"}),
            ),
            with(
                valid(),
                &format!("{}/updatedAttributes", entity(0)),
                json!({"k": {"deep": ["x", "\u{0}"]}}),
            ),
            {
                let mut event = valid();
                event["eventHeader"]
                    .as_object_mut()
                    .unwrap()
                    .insert("extra".into(), json!("unknown\u{0}"));
                event
            },
        ];
        for event in cases {
            assert_eq!(error_of(event), MSG_NUL);
        }
        // The escaped text "\\u0000" is six ordinary characters, not NUL.
        let escaped: Value = serde_json::from_str(r#"{"k": "\\u0000"}"#).unwrap();
        assert!(validate_event(with(
            valid(),
            &format!("{}/updatedAttributes", entity(0)),
            escaped
        ))
        .is_ok());
    }

    #[test]
    fn canonical_document_drops_unknown_fields_and_keeps_values() {
        // Digits are kept as sent; only the exponent marker is written in lower case.
        let text = r#"{
            "extra": 1,
            "eventHeader": {"uuid": "550E8400-E29B-41D4-A716-446655440000", "eventName": "N", "eventType": "T",
                            "createdDate": "", "savedDate": "2024-01-15T10:30:05.5-01:00", "source": "x"},
            "eventBody": {"entities": [
                {"entityType": "Loan", "entityId": "b", "updatedAttributes": {"n": 12345678901234567890123.4500, "e": 1E+2, "nested": {"a": [1, null]}}, "note": "drop"},
                {"entityType": "Car", "entityId": "a", "updatedAttributes": {}}
            ], "count": 2}
        }"#;
        let event = validate_event(serde_json::from_str(text).unwrap()).unwrap();
        let document = serde_json::to_string(&event.document).unwrap();
        assert_eq!(
            document,
            concat!(
                r#"{"eventBody":{"entities":[{"entityId":"b","entityType":"Loan","updatedAttributes":{"e":1e+2,"n":12345678901234567890123.4500,"nested":{"a":[1,null]}}},"#,
                r#"{"entityId":"a","entityType":"Car","updatedAttributes":{}}]},"#,
                r#""eventHeader":{"eventName":"N","eventType":"T","savedDate":"2024-01-15T10:30:05.5-01:00","uuid":"550E8400-E29B-41D4-A716-446655440000"}}"#
            )
        );
        assert_eq!(event.created_date, None);
    }

    #[test]
    fn lock_order_is_a_stable_sort_by_type_then_id() {
        let entities = json!([
            {"entityType": "Loan", "entityId": "2", "updatedAttributes": {"v": 1}},
            {"entityType": "Car", "entityId": "9", "updatedAttributes": {}},
            {"entityType": "Loan", "entityId": "10", "updatedAttributes": {}},
            {"entityType": "Loan", "entityId": "2", "updatedAttributes": {"v": 2}},
            {"entityType": "Car", "entityId": "10", "updatedAttributes": {}},
        ]);
        let event = validate_event(with(valid(), "/eventBody/entities", entities)).unwrap();
        let order: Vec<(String, String, String)> = event
            .entities_in_lock_order()
            .iter()
            .map(|e| {
                (
                    e.entity_type.into(),
                    e.entity_id.into(),
                    e.attributes.to_string(),
                )
            })
            .collect();
        let expected = [
            ("Car", "10", "{}"),
            ("Car", "9", "{}"),
            ("Loan", "10", "{}"),
            ("Loan", "2", r#"{"v":1}"#),
            ("Loan", "2", r#"{"v":2}"#),
        ];
        assert_eq!(
            order,
            expected.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );
        // The document keeps request order.
        let ids: Vec<&str> = event.entities().iter().map(|e| e.entity_id).collect();
        assert_eq!(ids, ["2", "9", "10", "2", "10"]);
    }

    #[test]
    fn grpc_attribute_text_is_json_when_all_of_it_is_json() {
        let cases = [
            ("12", json!(12)),
            ("true", json!(true)),
            ("null", Value::Null),
            (r#"{"a":1}"#, json!({"a": 1})),
            ("[1, 2]", json!([1, 2])),
            ("\"quoted\"", json!("quoted")),
            (" 12 ", json!(12)),
            ("\t\r\n{}\n", json!({})),
            ("abc", json!("abc")),
            ("1 2", json!("1 2")),
            ("", json!("")),
            ("{\"a\":1} x", json!("{\"a\":1} x")),
            ("True", json!("True")),
            ("01", json!("01")),
            ("NaN", json!("NaN")),
            ("'a'", json!("'a'")),
        ];
        for (text, expected) in cases {
            assert_eq!(
                attribute_from_text(text.to_string()),
                Ok(expected),
                "{text:?}"
            );
        }
        // Numbers keep their digits (serde_json writes an exponent marker in lower case).
        assert_eq!(
            attribute_from_text("24439.750".into()).unwrap().to_string(),
            "24439.750"
        );
        assert_eq!(
            attribute_from_text("123456789012345678901234567890".into())
                .unwrap()
                .to_string(),
            "123456789012345678901234567890"
        );
    }

    fn nested_text(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    /// Levels of objects and arrays: a scalar is 0, `{}` and `[]` are 1.
    fn nesting_depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(nesting_depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(nesting_depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    #[test]
    fn grpc_attribute_json_nests_at_most_59_levels() {
        assert_eq!(
            nesting_depth(&attribute_from_text(nested_text(59)).unwrap()),
            59
        );
        let no_nul = Err(OverLimit {
            limit: Limit::Nesting,
            contains_nul: false,
        });
        // Beyond serde_json's own limit (128) too: the nesting rule, not a string.
        for levels in [60, 127, 128, 129, 5000, 200_000] {
            assert_eq!(attribute_from_text(nested_text(levels)), no_nul, "{levels}");
        }
        let objects = format!("{}1{}", "{\"a\":".repeat(60), "}".repeat(60));
        assert_eq!(attribute_from_text(objects), no_nul);
        // The NUL rule comes first, so a too-deep value says whether it spells U+0000.
        let with_nul = format!("{}\"\\u0000\"{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            attribute_from_text(with_nul),
            Err(OverLimit {
                limit: Limit::Nesting,
                contains_nul: true
            })
        );
        // Not JSON at all, however many brackets: a string, whatever serde_json would have said.
        for text in [
            "[[[x".to_string(),
            format!("{}x", "[".repeat(60)),
            format!("{}x", "[".repeat(129)),
            format!("{}1", "[".repeat(200_000)),
            format!("{} 2", nested_text(200)),
        ] {
            assert_eq!(
                attribute_from_text(text.clone()),
                Ok(Value::String(text.clone())),
                "{}",
                &text[..20]
            );
        }
    }

    #[test]
    fn grpc_attribute_numbers_have_at_most_100_characters() {
        let digits = |n: usize| "9".repeat(n);
        for text in [
            digits(100),
            format!("-{}", digits(99)),
            format!("[1, {{\"a\": {}}}]", digits(100)),
        ] {
            assert_eq!(
                attribute_from_text(text.clone()).unwrap().to_string(),
                text.replace(' ', ""),
                "digits survive"
            );
        }
        let long = |contains_nul| {
            Err(OverLimit {
                limit: Limit::NumberLength,
                contains_nul,
            })
        };
        for text in [
            digits(101),
            format!("-{}", digits(100)),
            format!(" 1.{}e-5 ", digits(99)),
            format!("[1, {{\"a\": {}}}]", digits(100_000)),
        ] {
            assert_eq!(attribute_from_text(text), long(false));
        }
        assert_eq!(
            attribute_from_text(format!("[\"\\u0000\", {}]", digits(101))),
            long(true)
        );
        // Not JSON: a string, however many digits.
        let not_json = format!("{} x", digits(500));
        assert_eq!(
            attribute_from_text(not_json.clone()),
            Ok(Value::String(not_json))
        );
        // Too deep and a long number: the nesting rule comes first.
        let both = format!("[{}, {}]", digits(101), nested_text(60));
        assert_eq!(attribute_from_text(both).unwrap_err().limit, Limit::Nesting);
    }

    #[test]
    fn rest_numbers_have_at_most_100_characters_anywhere() {
        let digits = |n: usize| "5".repeat(n);
        for text in [
            format!(r#"{{"n": {}}}"#, digits(100)),
            format!(r#"{{"n": -{}.5}}"#, digits(97)),
            format!(r#"[{{"a": [{}]}}, 1]"#, digits(100)),
        ] {
            let value = parse_body(text.as_bytes()).unwrap();
            assert_eq!(value.to_string(), text.replace(' ', ""), "digits survive");
        }
        for text in [
            format!(r#"{{"n": {}}}"#, digits(101)),
            format!(r#"{{"n": -{}}}"#, digits(100)),
            format!(r#"{{"n": 1.{}E+7}}"#, digits(97)),
            // Anywhere: in an unknown field, a bulk item, a non-object body.
            format!(r#"[{{"eventHeader": {{}}}}, {{"x": [{}]}}]"#, digits(101)),
            digits(1_000_000),
        ] {
            assert_eq!(
                parse_body(text.as_bytes()).unwrap_err().0,
                MSG_NUMBER_TOO_LONG,
                "{}",
                &text[..20]
            );
        }
        // Malformed JSON and nesting are earlier rules.
        let malformed = format!(r#"{{"n": {}"#, digits(101));
        assert_eq!(
            parse_body(malformed.as_bytes()).unwrap_err().0,
            MSG_MALFORMED_JSON
        );
        let not_a_number = format!(r#"{{"n": {}}}"#, "e".repeat(200));
        assert_eq!(
            parse_body(not_a_number.as_bytes()).unwrap_err().0,
            MSG_MALFORMED_JSON
        );
        let deep = format!(r#"[{}, {}]"#, digits(101), nested_text(70));
        assert_eq!(
            parse_body(deep.as_bytes()).unwrap_err().0,
            MSG_BODY_TOO_DEEP
        );
    }

    #[test]
    fn rest_bodies_nest_at_most_64_levels() {
        let body = |levels: usize| nested_text(levels).into_bytes();
        assert_eq!(nesting_depth(&parse_body(&body(64)).unwrap()), 64);
        for levels in [65, 127, 128, 129, 200_000] {
            assert_eq!(
                parse_body(&body(levels)).unwrap_err().0,
                MSG_BODY_TOO_DEEP,
                "{levels}"
            );
        }
        let empty = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        assert_eq!(
            parse_body(empty.as_bytes()).unwrap_err().0,
            MSG_BODY_TOO_DEEP
        );
        let object = format!("{}1{}", "{\"a\":".repeat(65), "}".repeat(65));
        assert_eq!(
            parse_body(object.as_bytes()).unwrap_err().0,
            MSG_BODY_TOO_DEEP
        );
        // Brackets inside strings are text, not nesting.
        let text = format!(r#"{{"a": "{}"}}"#, "[".repeat(1000));
        assert!(parse_body(text.as_bytes()).is_ok());
    }

    #[test]
    fn malformed_json_wins_over_depth() {
        for text in [
            format!("{}x", "[".repeat(65)),
            format!("{}1", "[".repeat(129)),
            "[".repeat(200_000),
            format!("{}1{}", "[".repeat(200_000), "]".repeat(199_999)),
            format!("{} x", nested_text(200)),
            format!("{}1,]{}", "[".repeat(100), "]".repeat(99)),
            format!("{}\"\\ud800\"{}", "[".repeat(300), "]".repeat(300)),
        ] {
            assert_eq!(
                parse_body(text.as_bytes()).unwrap_err().0,
                MSG_MALFORMED_JSON,
                "{}",
                &text[..20]
            );
        }
        // Well-formed JSON, but not UTF-8.
        let mut bytes = format!("{}\"", "[".repeat(100)).into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\"");
        bytes.extend_from_slice("]".repeat(100).as_bytes());
        assert_eq!(parse_body(&bytes).unwrap_err().0, MSG_MALFORMED_JSON);
    }

    #[test]
    fn rest_bodies_must_be_json_in_utf8() {
        for body in [
            &b""[..],
            b"{",
            b"{'a': 1}",
            b"{} x",
            b"{\"a\": \"\xff\xfe\"}",
            b"[1,]",
        ] {
            assert_eq!(
                parse_body(body).unwrap_err().0,
                MSG_MALFORMED_JSON,
                "{body:?}"
            );
        }
        assert_eq!(nesting_depth(&parse_body(b"[1, {\"a\": []}]").unwrap()), 3);
        assert_eq!(nesting_depth(&json!(1)), 0);
    }

    /// The scanner that judges deep texts agrees with serde_json, which judges the others.
    #[test]
    fn the_scanner_agrees_with_serde_json() {
        for text in [
            "1",
            "-0",
            "01",
            "1.",
            "1.5e",
            "1e131072",
            "-",
            "[]",
            "[1,]",
            "{}",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "nul",
            "true",
            "truex",
            r#""\u00e9""#,
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\ud83d\ude00""#,
            r#""\x""#,
            "\"a\tb\"",
            "[1] 2",
            " [ ] ",
            "\u{feff}1",
            r#"{"a":{"b":[1,{"c":null}]}}"#,
            r#""\u0000""#,
            "",
            " ",
        ] {
            assert_eq!(
                json_scan::scan(text.as_bytes()).is_some(),
                serde_json::from_str::<Value>(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn helper_predicates() {
        assert!(is_uuid("550e8400-e29b-41d4-a716-446655440000"));
        assert!(!is_uuid("550e8400-e29b-41d4-a716_446655440000"));
        assert!(is_entity_type("a"));
        assert!(!is_entity_type("9"));
        assert!(!is_entity_type(""));
    }
}
