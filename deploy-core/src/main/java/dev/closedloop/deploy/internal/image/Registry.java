package dev.closedloop.deploy.internal.image;

import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.util.Optional;

/** Where images live: what a tag points at, and moving a tag by its manifest. */
public interface Registry {

  /**
   * The digest of the manifest that {@code image}'s tag (or digest) points at, or empty when it
   * does not exist.
   */
  Optional<String> digestOf(ImageRef image);

  /** The manifest {@code image} points at, as stored; its digest is checked against the bytes. */
  Manifest manifest(ImageRef image);

  /** Puts {@code manifest}, unchanged, under {@code tag} of {@code repository}. */
  void putManifest(ImageRef repository, String tag, Manifest manifest);

  /**
   * Docker credentials for pushing that the registry itself hands out (ECR's token from
   * GetAuthorizationToken); null when it hands out none and the configured ones are used.
   */
  default RegistryCredentials pushCredentials() {
    return null;
  }
}
