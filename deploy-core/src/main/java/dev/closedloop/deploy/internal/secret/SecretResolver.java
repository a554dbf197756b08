package dev.closedloop.deploy.internal.secret;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.aws.AwsSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Turns a setting's value into the secret it names: {@code env:NAME} (an environment variable),
 * {@code file:PATH} (a file's content, trimmed, as mounted by CI secret stores),
 * {@code ssm:/path/name} (an AWS SSM parameter, SecureStrings decrypted), or the value itself.
 * Every secret it returns is added to the load's {@link Secrets} before anyone sees it. Close it
 * to close the SSM client it opened, if any.
 */
public final class SecretResolver implements AutoCloseable {

  private final Map<String, String> env;
  private final Secrets secrets;
  private final AwsSettings aws;
  private SsmParameters ssm;

  public SecretResolver(Map<String, String> env, Secrets secrets) {
    this(env, secrets, AwsSettings.defaults());
  }

  /** @param aws how to reach AWS for {@code ssm:} references; null when those settings are wrong */
  public SecretResolver(Map<String, String> env, Secrets secrets, AwsSettings aws) {
    this.env = Map.copyOf(env);
    this.secrets = secrets;
    this.aws = aws;
  }

  /**
   * Resolves a secret and adds its value to the secrets masked before anyone sees it.
   *
   * @param setting the setting it came from, for messages (never the value)
   */
  public String resolve(String reference, String setting) {
    String value = read(reference, setting);
    secrets.add(value);
    return value;
  }

  /**
   * Resolves a setting that may come from a reference but is no secret, such as a user name:
   * its value is not masked, so a user named {@code postgres} leaves {@code jdbc:postgresql} legible.
   */
  public String resolveName(String reference, String setting) {
    return read(reference, setting);
  }

  /** True when {@code value} names a secret elsewhere ({@code env:}, {@code file:}, {@code ssm:}) instead of being one. */
  public static boolean isReference(String value) {
    return value != null && (value.startsWith("env:") || value.startsWith("file:") || value.startsWith("ssm:"));
  }

  private String read(String reference, String setting) {
    if (reference == null) {
      return null;
    }
    String value;
    if (reference.startsWith("env:")) {
      String name = reference.substring("env:".length());
      value = env.get(name);
      if (value == null) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names the environment variable "
            + name + ", which is not set: set it (from your CI's secret store) or change " + setting);
      }
      if (value.isBlank()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names the environment variable "
            + name + ", which is empty (a secret the CI did not pass on, e.g. to a fork's pull request?): give it"
            + " a value or change " + setting);
      }
    } else if (reference.startsWith("file:")) {
      Path file = Path.of(reference.substring("file:".length()));
      try {
        value = Files.readString(file, StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names the file " + file
            + ", which cannot be read (" + e.getClass().getSimpleName() + "): check the path and its permissions");
      }
      if (value.isEmpty()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names the file " + file
            + ", which is empty: write the secret into it (a mounted secret that did not arrive?) or change "
            + setting);
      }
    } else if (reference.startsWith("ssm:")) {
      String name = reference.substring("ssm:".length()).trim();
      if (name.isEmpty()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names no SSM parameter: write"
            + " ssm:/path/name");
      }
      if (aws == null) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names " + reference + ", which is"
            + " not read while deploy.awsEndpoint or deploy.awsRegion is wrong");
      }
      if (ssm == null) {
        ssm = SsmParameters.connect(aws);
      }
      value = ssm.get(name, setting);
    } else {
      value = reference;
    }
    return value;
  }

  @Override
  public void close() {
    if (ssm != null) {
      ssm.close();
    }
  }
}
