package com.example.events.rest;

import com.example.events.common.ExitOnSignal;
import com.example.events.common.Startup;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

@SpringBootApplication
public class RestApplication {

    static final int DEFAULT_PORT = 8080;

    /**
     * Reads the environment contract and the secrets before Spring starts, so a bad setting or an unreadable
     * secret stops the API with one line naming it and exit code 1 (not a Spring stack trace).
     */
    public static void main(String[] args) {
        ExitOnSignal.install();
        Startup startup = Startup.readOrExit(DEFAULT_PORT, config -> { });
        new SpringApplicationBuilder(RestApplication.class)
                .initializers((ConfigurableApplicationContext context) -> {
                    context.getBeanFactory().registerSingleton("appConfig", startup.config());
                    context.getBeanFactory().registerSingleton("secrets", startup.secrets());
                })
                .run(args);
    }
}
