package com.example.events.common;

/** What the transaction of one event did. */
public enum StoreResult {
    /** S1 inserted the event and every S2 ran; committed. */
    STORED,
    /** S1 found the uuid already stored; rolled back, nothing written. */
    DUPLICATE
}
