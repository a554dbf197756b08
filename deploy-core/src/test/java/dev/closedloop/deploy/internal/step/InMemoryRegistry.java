package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.image.Manifest;
import dev.closedloop.deploy.internal.image.Registry;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** A registry in memory: manifests by digest, tags naming digests. */
final class InMemoryRegistry implements Registry {

  final Map<String, Manifest> manifests = new ConcurrentHashMap<>();
  final Map<String, String> tags = new ConcurrentHashMap<>();
  /** When set, the registry refuses every manifest PUT, as one whose credentials may only pull. */
  volatile boolean refusePuts;
  /** How many manifest PUTs fail before they succeed again, as a registry that blips. */
  final java.util.concurrent.atomic.AtomicInteger failingPuts = new java.util.concurrent.atomic.AtomicInteger();
  /** Push credentials the registry hands out itself, as ECR's token; null for none. */
  volatile RegistryCredentials handsOut;

  /** Stores an image's manifest and returns its digest. */
  String push(String content) {
    String digest;
    try {
      digest = "sha256:" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(content.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    manifests.put(digest, new Manifest(content.getBytes(StandardCharsets.UTF_8),
        "application/vnd.oci.image.manifest.v1+json", digest));
    return digest;
  }

  @Override
  public Optional<String> digestOf(ImageRef image) {
    if (image.digestValue().isPresent()) {
      return image.digestValue().filter(manifests::containsKey);
    }
    return Optional.ofNullable(tags.get(image.name() + ":" + image.tagValue().orElse("latest")));
  }

  @Override
  public Manifest manifest(ImageRef image) {
    return manifests.get(digestOf(image).orElseThrow());
  }

  @Override
  public void putManifest(ImageRef repository, String tag, Manifest manifest) {
    if (refusePuts || failingPuts.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new dev.closedloop.deploy.DeployException(dev.closedloop.deploy.DeployException.Kind.REGISTRY,
          "PUT " + repository.withTag(tag) + ": 403 denied");
    }
    manifests.put(manifest.digest(), manifest);
    tags.put(repository.name() + ":" + tag, manifest.digest());
  }

  @Override
  public RegistryCredentials pushCredentials() {
    return handsOut;
  }
}
