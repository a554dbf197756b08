package dev.closedloop.deploy.image;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** A user name and password (or token) for one registry. {@link #toString()} hides the password. */
public record RegistryCredentials(String username, String password) {

  public RegistryCredentials {
    if (username == null || password == null) {
      throw new IllegalArgumentException("username and password are required");
    }
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
