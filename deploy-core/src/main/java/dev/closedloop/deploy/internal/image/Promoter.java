package dev.closedloop.deploy.internal.image;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Events;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Moves tags to a digest through the registry's API: the manifest is read once and put under
 * each tag, so no layer is pulled or pushed. Each tag is read back to prove it moved.
 */
public final class Promoter {

  private final Registry registry;
  private final Events events;
  private final Step step;

  public Promoter(Registry registry, Events events) {
    this(registry, events, Step.PROMOTE);
  }

  /** @param step the step that moves the tags, which its progress lines name (a rollback moves them too) */
  public Promoter(Registry registry, Events events, Step step) {
    this.registry = registry;
    this.events = events;
    this.step = step;
  }

  /** Where each tag pointed before its move, and that it moved: written down as it happens. */
  public interface Journal {
    Journal NONE = new Journal() {
      @Override
      public void before(String tag, String previousDigest) { }

      @Override
      public void moved(String tag) { }
    };

    /** Before {@code tag} is touched; {@code previousDigest} is null when it does not exist yet. */
    void before(String tag, String previousDigest);

    /** After {@code tag} was moved and read back. */
    void moved(String tag);
  }

  public List<TagMove> promote(ImageRef repository, String digest, List<String> tags) {
    return promote(repository, digest, tags, Journal.NONE);
  }

  /**
   * @param repository the image repository (tag and digest ignored)
   * @param digest the manifest digest the tags must point at
   * @param journal told each tag's previous digest before its move, and the move after it
   */
  public List<TagMove> promote(ImageRef repository, String digest, List<String> tags, Journal journal) {
    ImageRef source = repository.withDigest(digest);
    Manifest manifest = null;
    List<TagMove> moves = new ArrayList<>();
    for (String tag : tags) {
      ImageRef tagged = repository.withTag(tag);
      Optional<String> previous = registry.digestOf(tagged);
      journal.before(tag, previous.orElse(null));
      if (previous.isPresent() && previous.get().equals(digest)) {
        events.progress(step, tagged + " already points at " + digest);
        moves.add(new TagMove(tag, previous.get(), digest, false));
        continue;
      }
      if (manifest == null) {
        manifest = registry.manifest(source);
      }
      registry.putManifest(repository, tag, manifest);
      String now = registry.digestOf(tagged).orElse(null);
      if (!digest.equals(now)) {
        throw new DeployException(DeployException.Kind.REGISTRY, "Moved " + tagged + " to " + digest
            + " but the registry now reports " + now + " for it: another release moved it at the same time,"
            + " the repository's tags are immutable, or the registry rewrote the manifest");
      }
      journal.moved(tag);
      events.progress(step, tagged + ": " + previous.orElse("(new tag)") + " -> " + digest);
      moves.add(new TagMove(tag, previous.orElse(null), digest, true));
    }
    return moves;
  }

  /** What moving a tag back did. */
  public enum Reverted {
    /** It named this release's digest and now names the previous one again. */
    MOVED,
    /** It named the previous digest already: nothing moved. */
    ALREADY,
    /** It names something else: moved by someone else meanwhile, and left as it is. */
    MOVED_ELSEWHERE
  }

  /**
   * Moves {@code move}'s tag back to its previous digest, only while it still names the digest
   * it was moved to, and reads it back.
   *
   * @throws DeployException when the registry refused, or the read-back shows another digest
   */
  public Reverted revert(ImageRef repository, TagMove move) {
    ImageRef tagged = repository.withTag(move.tag());
    String previous = move.previous().orElseThrow(() -> new IllegalArgumentException(move.tag() + " had no digest"));
    Optional<String> now = registry.digestOf(tagged);
    if (now.isPresent() && now.get().equals(previous)) {
      return Reverted.ALREADY;
    }
    if (now.isEmpty() || !now.get().equals(move.digest())) {
      return Reverted.MOVED_ELSEWHERE;
    }
    registry.putManifest(repository, move.tag(), registry.manifest(repository.withDigest(previous)));
    String after = registry.digestOf(tagged).orElse(null);
    if (!previous.equals(after)) {
      throw new DeployException(DeployException.Kind.REGISTRY, "Moved " + tagged + " back to " + previous
          + " but the registry now reports " + after + " for it");
    }
    events.progress(step, tagged + ": " + move.digest() + " -> " + previous + " (moved back)");
    return Reverted.MOVED;
  }
}
