package dev.closedloop.deploy.image;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A user name and password (or token) for one registry, or an identity token ({@link
 * #identityToken}). {@link #toString()} hides the password.
 */
public record RegistryCredentials(String username, String password) {

  /** The user name by which docker's credential helpers mark an identity token. */
  private static final String IDENTITY_TOKEN = "<token>";

  public RegistryCredentials {
    if (username == null || password == null) {
      throw new IllegalArgumentException("username and password are required");
    }
  }

  /**
   * An identity token (Azure Container Registry's, or a credential helper's answer with user
   * name {@code <token>}): an OAuth2 refresh token the registry's token service exchanges for an
   * access token, never sent as a password.
   */
  public static RegistryCredentials identityToken(String token) {
    return new RegistryCredentials(IDENTITY_TOKEN, token);
  }

  public boolean isIdentityToken() {
    return IDENTITY_TOKEN.equals(username);
  }

  public String basicHeader() {
    return "Basic " + Base64.getEncoder()
        .encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "RegistryCredentials[username=" + username + ", password=****]";
  }
}
