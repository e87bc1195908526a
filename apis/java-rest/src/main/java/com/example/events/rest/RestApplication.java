package com.example.events.rest;

import com.example.events.common.ExitOnSignal;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class RestApplication {

    public static void main(String[] args) {
        ExitOnSignal.install();
        SpringApplication.run(RestApplication.class, args);
    }
}
