package dev.closedloop.deploy.image;

import java.util.Optional;

/**
 * One tag moved by promotion: where it pointed before (empty when it did not exist) and the
 * digest it points at now. {@code moved} is false when it already pointed there.
 */
public record TagMove(String tag, String previousDigest, String digest, boolean moved) {

  public Optional<String> previous() {
    return Optional.ofNullable(previousDigest);
  }
}
