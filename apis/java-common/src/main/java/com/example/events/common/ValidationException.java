package com.example.events.common;

/** The event breaks a rule of the contract; the message is the rule's exact text. */
public final class ValidationException extends RuntimeException {

    public ValidationException(String message) {
        super(message, null, false, false);
    }
}
