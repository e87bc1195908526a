package com.example.events.grpc;

import com.example.events.common.AttributeValues;
import com.example.events.common.EventValidator;
import com.example.events.common.Json;
import com.example.events.common.Messages;
import com.example.events.common.ValidEvent;
import com.example.events.common.ValidationException;
import com.example.grpc.EntityUpdate;
import com.example.grpc.EventHeader;
import com.example.grpc.EventRequest;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * Turns a protobuf {@link EventRequest} into the JSON tree the shared validator reads, so gRPC and REST
 * share every rule, message and the canonical document.
 *
 * <p>An unset header or body stays absent (so "must be an object" answers); proto3's empty date strings
 * count as absent in the validator; each attribute value is JSON when it is one whole JSON text, else a
 * JSON string.
 */
final class ProtoEvents {

    private ProtoEvents() {
    }

    /**
     * Validates the request with the contract's rules in the contract's order: the shared validator on the
     * tree, then the nesting of attribute values, then the length of their numbers (both after the NUL rule,
     * which also covers the values kept out of the tree for breaking them).
     *
     * @throws ValidationException with the message of the first broken rule
     */
    static ValidEvent validate(EventRequest request) {
        Conversion conversion = new Conversion();
        ValidEvent event = EventValidator.validate(conversion.tree(request));
        if (conversion.nulInDeepValue) {
            throw new ValidationException(Messages.NUL_CHARACTER);
        }
        if (conversion.tooDeep) {
            throw new ValidationException(Messages.EVENT_TOO_DEEP);
        }
        if (conversion.numberTooLong) {
            throw new ValidationException(Messages.NUMBER_TOO_LONG);
        }
        return event;
    }

    /**
     * The tree the validator reads; an attribute value nesting too deep or with a number too long stands there
     * as JSON null.
     */
    static ObjectNode toJsonTree(EventRequest request) {
        return new Conversion().tree(request);
    }

    private static final class Conversion {
        boolean tooDeep;
        boolean numberTooLong;
        boolean nulInDeepValue;

        ObjectNode tree(EventRequest request) {
            ObjectNode event = Json.MAPPER.createObjectNode();
            if (request.hasEventHeader()) {
                EventHeader header = request.getEventHeader();
                event.putObject("eventHeader")
                        .put("uuid", header.getUuid())
                        .put("eventName", header.getEventName())
                        .put("eventType", header.getEventType())
                        .put("createdDate", header.getCreatedDate())
                        .put("savedDate", header.getSavedDate());
            }
            if (request.hasEventBody()) {
                ArrayNode entities = event.putObject("eventBody").putArray("entities");
                for (EntityUpdate update : request.getEventBody().getEntitiesList()) {
                    ObjectNode entity = entities.addObject()
                            .put("entityType", update.getEntityType())
                            .put("entityId", update.getEntityId());
                    ObjectNode attributes = entity.putObject("updatedAttributes");
                    for (Map.Entry<String, String> attribute : update.getUpdatedAttributesMap().entrySet()) {
                        AttributeValues.Checked value = AttributeValues.check(attribute.getValue());
                        tooDeep |= value.tooDeep();
                        numberTooLong |= value.numberTooLong();
                        nulInDeepValue |= value.containsNul();
                        attributes.set(attribute.getKey(), value.value());
                    }
                }
            }
            return event;
        }
    }
}
