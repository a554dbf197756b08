package dev.closedloop.deploy.maven;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.List;

/**
 * The goals that read a parameter, or {@code "all"}: every goal has every parameter (they share
 * one base class), so this says which ones matter. {@code deploy:help} lists a goal's parameters
 * by it, and the configuration reference's "goals" column is checked against it.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
@interface Goals {

  /** Every goal, in the order the reference and the help name them. */
  List<String> ALL = List.of("build", "test-migrate", "migrate", "promote", "release", "rollback", "history", "plan",
      "lint");

  String[] value();
}
