package dev.closedloop.deploy.maven;

import java.util.List;

/**
 * One {@code <environment>} of the plugin's {@code <environments>}: a name and the settings that
 * replace the top-level ones while {@code -Ddeploy.environment=<name>} selects it. Each field is
 * the top-level parameter of the same name; one left out is the top-level one.
 */
public class Environment {

  String name;
  String databaseUrl;
  String databaseUser;
  String databasePassword;
  /** The settings.xml {@code <server>} with this environment's database credentials. */
  String databaseServerId;
  Boolean requireTls;
  String lockName;
  List<String> promoteTags;
  List<String> allowedBranches;
  String rollout;
  String rolloutService;
  String rolloutTimeout;
  String healthUrl;
  String healthExpect;
  String healthCommand;
  List<String> localPorts;
  List<String> localEnv;
  List<String> hooks;
  String awsRegion;

  /** True when this environment gives its own database, or credentials for it. */
  boolean setsDatabase() {
    return databaseUrl != null || databaseUser != null || databasePassword != null || databaseServerId != null;
  }
}
