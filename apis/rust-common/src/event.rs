//! A validated event: the values bound to the two statements and the canonical document.

use serde_json::Value;
use uuid::Uuid;

use crate::rfc3339::Timestamptz;

#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    pub uuid: Uuid,
    pub event_name: String,
    pub event_type: String,
    pub created_date: Option<Timestamptz>,
    pub saved_date: Option<Timestamptz>,
    /// The canonical event document stored in `events.payload`:
    /// `{"eventHeader": {uuid, eventName, eventType, createdDate?, savedDate?},
    ///   "eventBody": {"entities": [{entityType, entityId, updatedAttributes}…]}}`,
    /// entities in request order, unknown fields dropped, attribute values as received.
    pub document: Value,
}

/// One entity of a [`ValidEvent`], borrowed from its canonical document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntityRef<'a> {
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub attributes: &'a Value,
}

impl ValidEvent {
    /// The uuid as the responses spell it: lower case, hyphenated.
    pub fn uuid_text(&self) -> String {
        self.uuid.hyphenated().to_string()
    }

    fn entity_values(&self) -> &[Value] {
        self.document["eventBody"]["entities"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn entity_count(&self) -> usize {
        self.entity_values().len()
    }

    /// Entities in request order.
    pub fn entities(&self) -> Vec<EntityRef<'_>> {
        self.entity_values()
            .iter()
            .map(|entity| EntityRef {
                entity_type: entity["entityType"].as_str().unwrap_or_default(),
                entity_id: entity["entityId"].as_str().unwrap_or_default(),
                attributes: &entity["updatedAttributes"],
            })
            .collect()
    }

    /// Entities in the one lock order of every transaction: by (entityType, entityId), compared
    /// as Unicode code points; the sort is stable, so the later of two updates to one entity wins.
    pub fn entities_in_lock_order(&self) -> Vec<EntityRef<'_>> {
        let mut entities = self.entities();
        entities.sort_by(|a, b| (a.entity_type, a.entity_id).cmp(&(b.entity_type, b.entity_id)));
        entities
    }
}
