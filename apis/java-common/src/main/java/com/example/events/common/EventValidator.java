package com.example.events.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The contract's validation table, in its order: the first broken rule is the answer.
 *
 * <p>Works on a Jackson tree, so REST bodies and gRPC messages (converted by the gRPC module into the
 * same tree) get the same rules and the same messages.
 */
public final class EventValidator {

    public static final int MAX_ENTITIES = 100;
    public static final int MAX_ENTITY_ID_CODE_POINTS = 255;

    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern ENTITY_TYPE = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,63}");

    private EventValidator() {
    }

    /** @throws ValidationException with the message of the first broken rule */
    public static ValidEvent validate(JsonNode event) {
        if (event == null || !event.isObject()) {
            throw new ValidationException(Messages.BODY_NOT_OBJECT);
        }
        JsonNode header = event.get("eventHeader");
        if (header == null || !header.isObject()) {
            throw new ValidationException(Messages.HEADER_NOT_OBJECT);
        }
        String uuid = textMatching(header.get("uuid"), UUID, Messages.UUID_INVALID);
        String eventName = nonEmptyText(header.get("eventName"), Messages.EVENT_NAME_INVALID);
        String eventType = nonEmptyText(header.get("eventType"), Messages.EVENT_TYPE_INVALID);
        String createdDate = optionalDate(header.get("createdDate"), Messages.CREATED_DATE_INVALID);
        String savedDate = optionalDate(header.get("savedDate"), Messages.SAVED_DATE_INVALID);

        JsonNode body = event.get("eventBody");
        if (body == null || !body.isObject()) {
            throw new ValidationException(Messages.BODY_FIELD_NOT_OBJECT);
        }
        JsonNode entityArray = body.get("entities");
        if (entityArray == null || !entityArray.isArray() || entityArray.isEmpty()
                || entityArray.size() > MAX_ENTITIES) {
            throw new ValidationException(Messages.ENTITIES_INVALID);
        }
        List<EntityUpdate> entities = new ArrayList<>(entityArray.size());
        for (int i = 0; i < entityArray.size(); i++) {
            entities.add(entity(entityArray.get(i), i));
        }
        if (containsNul(event)) {
            throw new ValidationException(Messages.NUL_CHARACTER);
        }
        return new ValidEvent(uuid, eventName, eventType, createdDate, savedDate, entities);
    }

    private static EntityUpdate entity(JsonNode entity, int index) {
        if (entity == null || !entity.isObject()) {
            throw new ValidationException(Messages.entityNotObject(index));
        }
        String entityType = textMatching(entity.get("entityType"), ENTITY_TYPE, Messages.entityTypeInvalid(index));
        JsonNode idNode = entity.get("entityId");
        if (idNode == null || !idNode.isTextual() || idNode.textValue().isEmpty()
                || codePoints(idNode.textValue()) > MAX_ENTITY_ID_CODE_POINTS) {
            throw new ValidationException(Messages.entityIdInvalid(index));
        }
        JsonNode attributes = entity.get("updatedAttributes");
        if (attributes == null || !attributes.isObject()) {
            throw new ValidationException(Messages.attributesInvalid(index));
        }
        return new EntityUpdate(entityType, idNode.textValue(), (ObjectNode) attributes);
    }

    private static int codePoints(String text) {
        return text.codePointCount(0, text.length());
    }

    private static String textMatching(JsonNode node, Pattern pattern, String message) {
        if (node == null || !node.isTextual() || !pattern.matcher(node.textValue()).matches()) {
            throw new ValidationException(message);
        }
        return node.textValue();
    }

    private static String nonEmptyText(JsonNode node, String message) {
        if (node == null || !node.isTextual() || node.textValue().isEmpty()) {
            throw new ValidationException(message);
        }
        return node.textValue();
    }

    /** Absent, {@code null} and {@code ""} all mean "no date" and yield {@code null}. */
    private static String optionalDate(JsonNode node, String message) {
        if (node == null || node.isNull() || (node.isTextual() && node.textValue().isEmpty())) {
            return null;
        }
        if (!node.isTextual() || !Rfc3339.isValid(node.textValue())) {
            throw new ValidationException(message);
        }
        return node.textValue();
    }

    /** True when any string of the tree, object keys included, contains U+0000. */
    static boolean containsNul(JsonNode node) {
        if (node.isTextual()) {
            return node.textValue().indexOf('\0') >= 0;
        }
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                if (field.getKey().indexOf('\0') >= 0 || containsNul(field.getValue())) {
                    return true;
                }
            }
            return false;
        }
        if (node.isArray()) {
            for (JsonNode item : node) {
                if (containsNul(item)) {
                    return true;
                }
            }
        }
        return false;
    }
}
