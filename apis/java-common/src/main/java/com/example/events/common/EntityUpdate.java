package com.example.events.common;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** One validated entity of an event; {@code attributes} is the object exactly as received. */
public record EntityUpdate(String entityType, String entityId, ObjectNode attributes) {
}
