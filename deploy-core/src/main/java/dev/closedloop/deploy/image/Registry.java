package dev.closedloop.deploy.image;

import java.util.Optional;

/** Where images live: what a tag points at. Promotion (moving tags) arrives with its step. */
public interface Registry {

  /**
   * The digest of the manifest that {@code image}'s tag points at, or empty when the tag does not
   * exist.
   */
  Optional<String> digestOf(ImageRef image);
}
