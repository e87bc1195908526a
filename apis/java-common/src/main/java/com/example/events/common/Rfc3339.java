package com.example.events.common;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The contract's RFC 3339 date-time: a fixed syntax plus a real instant (no leap second). */
public final class Rfc3339 {

    private static final Pattern SYNTAX = Pattern.compile(
            "(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.\\d{1,9})?(?:Z|[+-](\\d{2}):(\\d{2}))");

    private Rfc3339() {
    }

    public static boolean isValid(String value) {
        Matcher m = SYNTAX.matcher(value);
        if (!m.matches()) {
            return false;
        }
        int year = Integer.parseInt(m.group(1));
        int month = Integer.parseInt(m.group(2));
        int day = Integer.parseInt(m.group(3));
        if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
            return false;
        }
        if (Integer.parseInt(m.group(4)) > 23 || Integer.parseInt(m.group(5)) > 59
                || Integer.parseInt(m.group(6)) > 59) {
            return false;
        }
        if (m.group(7) != null && (Integer.parseInt(m.group(7)) > 15 || Integer.parseInt(m.group(8)) > 59)) {
            return false;
        }
        return true;
    }

    private static int daysInMonth(int year, int month) {
        return switch (month) {
            case 2 -> isLeapYear(year) ? 29 : 28;
            case 4, 6, 9, 11 -> 30;
            default -> 31;
        };
    }

    private static boolean isLeapYear(int year) {
        return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    }
}
