package dev.closedloop.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A named group of settings, such as staging or production, selected with
 * {@link ReleaseBuilder#environment(String)} ({@code deploy.environment}). Each setting it gives
 * replaces the top-level one while it is selected; one it leaves out is the top-level one. Its
 * ledger rows and release lock are its own: the lock name is {@code <lockName>/<name>} unless it
 * names one, so two environments on one database never share a row or a lock.
 *
 * <pre>{@code
 * Release.configure()
 *     .image("registry.example.com/team/shop")
 *     .environments(List.of(
 *         Environment.named("staging").databaseUrl("ssm:/shop/staging/database-url", null, null)
 *             .promoteTags(List.of("staging")),
 *         Environment.named("production").databaseUrl("ssm:/shop/database-url", null, null)
 *             .promoteTags(List.of("latest"))))
 *     .environment("staging")
 *     .load()
 *     .release();
 * }</pre>
 */
public final class Environment {

  /** A name as it goes into a lock name and a command line: lowercase letters, digits and dashes. */
  static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

  private final String name;
  private boolean databaseSet;
  private String databaseUrl;
  private String databaseUser;
  private String databasePassword;
  private Boolean requireTls;
  private String lockName;
  private List<String> promoteTags;
  private List<String> allowedBranches;
  private String rollout;
  private String rolloutService;
  private String rolloutTimeout;
  private String healthUrl;
  private String healthExpect;
  private String healthCommand;
  private List<String> localPorts;
  private List<String> localEnv;
  private List<String> hooks;
  private String awsRegion;

  private Environment(String name) {
    this.name = name == null ? null : name.trim();
  }

  /** An environment that replaces nothing yet. */
  public static Environment named(String name) {
    return new Environment(name);
  }

  public String name() {
    return name;
  }

  /** Production's database in this environment: a URL or secret reference, with its credentials. */
  public Environment databaseUrl(String url, String user, String password) {
    this.databaseSet = true;
    this.databaseUrl = url;
    this.databaseUser = user;
    this.databasePassword = password;
    return this;
  }

  public Environment requireTls(Boolean require) {
    this.requireTls = require;
    return this;
  }

  /** The release lock's name, which keys this environment's ledger rows; default {@code <lockName>/<name>}. */
  public Environment lockName(String lockName) {
    this.lockName = blankToNull(lockName);
    return this;
  }

  /** The tags this environment's releases move: each environment needs its own. */
  public Environment promoteTags(List<String> tags) {
    this.promoteTags = copy(tags);
    return this;
  }

  public Environment allowedBranches(List<String> patterns) {
    this.allowedBranches = copy(patterns);
    return this;
  }

  public Environment rollout(String kind) {
    this.rollout = blankToNull(kind);
    return this;
  }

  public Environment rolloutService(String service) {
    this.rolloutService = blankToNull(service);
    return this;
  }

  public Environment rolloutTimeout(String timeout) {
    this.rolloutTimeout = blankToNull(timeout);
    return this;
  }

  public Environment healthUrl(String url) {
    this.healthUrl = blankToNull(url);
    return this;
  }

  public Environment healthExpect(String text) {
    this.healthExpect = blankToNull(text);
    return this;
  }

  public Environment healthCommand(String command) {
    this.healthCommand = blankToNull(command);
    return this;
  }

  public Environment localPorts(List<String> ports) {
    this.localPorts = copy(ports);
    return this;
  }

  public Environment localEnv(List<String> entries) {
    this.localEnv = copy(entries);
    return this;
  }

  /** Hooks as {@code <point>=<command>}: they replace the top-level ones. */
  public Environment hooks(List<String> entries) {
    this.hooks = copy(entries);
    return this;
  }

  public Environment awsRegion(String region) {
    this.awsRegion = blankToNull(region);
    return this;
  }

  /** The lock name it gives; null for {@code <lockName>/<name>}. */
  String lockName() {
    return lockName;
  }

  /** True when this environment names its own lock (and so its own ledger rows). */
  boolean namesLock() {
    return lockName != null;
  }

  /** The promote tags while this environment is selected, given the top-level ones. */
  List<String> tagsOver(List<String> topLevel) {
    return promoteTags != null ? promoteTags : topLevel;
  }

  /** Replaces in {@code settings} what this environment gives. */
  void applyTo(ReleaseBuilder settings) {
    if (databaseSet) {
      settings.databaseUrl(databaseUrl, databaseUser, databasePassword);
    }
    if (requireTls != null) {
      settings.requireTls(requireTls);
    }
    if (lockName != null) {
      settings.lockName(lockName);
    }
    if (promoteTags != null) {
      settings.promoteTags(promoteTags);
    }
    if (allowedBranches != null) {
      settings.allowedBranches.clear();
      settings.allowedBranches(allowedBranches);
    }
    if (rollout != null) {
      settings.rollout(rollout);
    }
    if (rolloutService != null) {
      settings.rolloutService(rolloutService);
    }
    if (rolloutTimeout != null) {
      settings.rolloutTimeout(rolloutTimeout);
    }
    if (healthUrl != null) {
      settings.healthUrl(healthUrl);
    }
    if (healthExpect != null) {
      settings.healthExpect(healthExpect);
    }
    if (healthCommand != null) {
      settings.healthCommand(healthCommand);
    }
    if (localPorts != null) {
      settings.localPorts(localPorts);
    }
    if (localEnv != null) {
      settings.localEnv(localEnv);
    }
    if (hooks != null) {
      settings.hookEntries.clear();
      settings.hooks(hooks);
    }
    if (awsRegion != null) {
      settings.awsRegion(awsRegion);
    }
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }

  /** A list given, without blank entries; null (not given) stays null. */
  private static List<String> copy(List<String> values) {
    if (values == null) {
      return null;
    }
    List<String> kept = new ArrayList<>();
    for (String value : values) {
      if (value != null && !value.isBlank()) {
        kept.add(value.trim());
      }
    }
    return List.copyOf(kept);
  }

  @Override
  public String toString() {
    return "Environment[" + name + "]"; // its settings may hold secrets
  }
}
