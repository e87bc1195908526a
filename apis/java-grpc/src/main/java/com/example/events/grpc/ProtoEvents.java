package com.example.events.grpc;

import com.example.events.common.AttributeValues;
import com.example.events.common.Json;
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

    static ObjectNode toJsonTree(EventRequest request) {
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
                    attributes.set(attribute.getKey(), AttributeValues.fromWireString(attribute.getValue()));
                }
            }
        }
        return event;
    }
}
