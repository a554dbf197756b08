package dev.closedloop.deploy.image;

import java.util.List;

/**
 * An image in the registry: {@code image} is {@code <repository>:<sha>}, {@code digest} what the
 * registry reports for it. {@code reused} is true when an earlier run had built it already.
 */
public record BuiltImage(ImageRef image, String digest, List<ImageRef> tags, boolean reused) {

  public BuiltImage {
    tags = List.copyOf(tags);
  }
}
