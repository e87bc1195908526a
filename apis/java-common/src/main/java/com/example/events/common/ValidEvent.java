package com.example.events.common;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * An event that passed every rule of the contract.
 *
 * @param uuid        as sent (already checked to be a UUID)
 * @param createdDate as sent, or {@code null} when absent, {@code null} or {@code ""}
 * @param savedDate   as sent, or {@code null} when absent, {@code null} or {@code ""}
 * @param entities    in request order
 */
public record ValidEvent(
        String uuid,
        String eventName,
        String eventType,
        String createdDate,
        String savedDate,
        List<EntityUpdate> entities) {

    /**
     * The one lock order of every transaction. {@link List#sort} is stable, so two updates of one entity
     * keep their request order and the later one wins.
     */
    private static final Comparator<EntityUpdate> LOCK_ORDER =
            Comparator.comparing(EntityUpdate::entityType).thenComparing(EntityUpdate::entityId);

    public ValidEvent {
        entities = List.copyOf(entities);
    }

    /** The uuid as the responses show it. */
    public String uuidLowerCase() {
        return uuid.toLowerCase(Locale.ROOT);
    }

    /** The entities sorted stably by (entityType, entityId), the order of the S2 statements. */
    public List<EntityUpdate> entitiesInLockOrder() {
        var sorted = new java.util.ArrayList<>(entities);
        sorted.sort(LOCK_ORDER);
        return sorted;
    }

    /**
     * The canonical event document stored as {@code payload}: known fields only, the dates only when
     * present, entities in request order, attribute values exactly as received.
     */
    public ObjectNode canonicalDocument() {
        ObjectNode document = Json.MAPPER.createObjectNode();
        ObjectNode header = document.putObject("eventHeader");
        header.put("uuid", uuid);
        header.put("eventName", eventName);
        header.put("eventType", eventType);
        if (createdDate != null) {
            header.put("createdDate", createdDate);
        }
        if (savedDate != null) {
            header.put("savedDate", savedDate);
        }
        ArrayNode entityArray = document.putObject("eventBody").putArray("entities");
        for (EntityUpdate entity : entities) {
            ObjectNode item = entityArray.addObject();
            item.put("entityType", entity.entityType());
            item.put("entityId", entity.entityId());
            item.set("updatedAttributes", entity.attributes());
        }
        return document;
    }

    public String canonicalJson() {
        return Json.write(canonicalDocument());
    }
}
