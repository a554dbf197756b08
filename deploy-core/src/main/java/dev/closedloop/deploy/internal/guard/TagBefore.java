package dev.closedloop.deploy.internal.guard;

import dev.closedloop.deploy.guard.LedgerEntry;

/**
 * Where a promote tag pointed before a release moved it, as the ledger knows it: not recorded by
 * any row, recorded as not existing, or recorded as naming {@code digest}.
 *
 * @param recorded true when a row recorded where the tag pointed before its move
 * @param digest the digest it named then; null when it did not exist or nothing was recorded
 */
public record TagBefore(boolean recorded, String digest) {

  private static final TagBefore UNRECORDED = new TagBefore(false, null);
  private static final TagBefore ABSENT = new TagBefore(true, null);

  public TagBefore {
    if (!recorded && digest != null) {
      throw new IllegalArgumentException("an unrecorded tag has no digest");
    }
  }

  /** No row recorded this tag's move. */
  public static TagBefore unrecorded() {
    return UNRECORDED;
  }

  /** Recorded: the tag did not exist before the move ({@code digest} null), or named {@code digest}. */
  public static TagBefore recorded(String digest) {
    return digest == null ? ABSENT : new TagBefore(true, digest);
  }

  /** Where promote tag {@code tag} pointed before ledger row {@code entry} moved it. */
  public static TagBefore of(LedgerEntry entry, String tag) {
    return entry.previousDigests().containsKey(tag) ? recorded(entry.previousDigests().get(tag)) : UNRECORDED;
  }

  /** True when a row recorded that the tag named an image before its move. */
  public boolean existed() {
    return digest != null;
  }
}
