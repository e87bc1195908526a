package com.example.events.common;

/** A setting of the environment contract is missing or malformed; the message never contains a password. */
public final class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }
}
