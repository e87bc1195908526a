package com.example.events.common;

/** The contract's exact texts (contract/CONTRACT.md). */
public final class Messages {

    public static final String MALFORMED_JSON = "malformed JSON";
    public static final String BODY_TOO_DEEP = "request body nests deeper than 64 levels";
    public static final String BODY_NOT_OBJECT = "request body must be a JSON object";
    public static final String BULK_NOT_ARRAY = "request body must be a JSON array of 1 to 1000 events";
    public static final String HEADER_NOT_OBJECT = "eventHeader must be an object";
    public static final String UUID_INVALID = "eventHeader.uuid must be a UUID";
    public static final String EVENT_NAME_INVALID = "eventHeader.eventName must be a non-empty string";
    public static final String EVENT_TYPE_INVALID = "eventHeader.eventType must be a non-empty string";
    public static final String CREATED_DATE_INVALID = "eventHeader.createdDate must be an RFC 3339 date-time";
    public static final String SAVED_DATE_INVALID = "eventHeader.savedDate must be an RFC 3339 date-time";
    public static final String BODY_FIELD_NOT_OBJECT = "eventBody must be an object";
    public static final String ENTITIES_INVALID = "eventBody.entities must be an array of 1 to 100 entities";
    public static final String NUL_CHARACTER = "event must not contain the NUL character (U+0000)";
    public static final String EVENT_TOO_DEEP = "event nests deeper than 64 levels";
    public static final String NUMBER_TOO_LONG = "event contains a number longer than 100 characters";
    public static final String UNSTORABLE_VALUE = "event contains a value the database cannot store";

    public static final String EVENT_PROCESSED = "event processed";
    public static final String DUPLICATE_IGNORED = "duplicate event ignored";
    public static final String BATCH_PROCESSED = "batch processed";
    public static final String DATABASE_UNAVAILABLE = "database unavailable";
    public static final String INTERNAL_ERROR = "internal error";
    public static final String NOT_FOUND = "not found";
    public static final String METHOD_NOT_ALLOWED = "method not allowed";
    public static final String UNSUPPORTED_CONTENT_TYPE = "unsupported content type: use application/json";
    public static final String HEALTHY = "healthy";
    public static final String MISSING_BEARER_TOKEN = "missing bearer token";
    public static final String INVALID_TOKEN = "invalid token";

    private Messages() {
    }

    public static String entityNotObject(int index) {
        return "eventBody.entities[" + index + "] must be an object";
    }

    public static String entityTypeInvalid(int index) {
        return "eventBody.entities[" + index
                + "].entityType must be a name: a letter, then letters or digits, at most 64 characters";
    }

    public static String entityIdInvalid(int index) {
        return "eventBody.entities[" + index + "].entityId must be a non-empty string of at most 255 characters";
    }

    public static String attributesInvalid(int index) {
        return "eventBody.entities[" + index + "].updatedAttributes must be a JSON object";
    }

    public static String bodyTooLarge(long maxBodyBytes) {
        return "request body exceeds " + maxBodyBytes + " bytes";
    }
}
