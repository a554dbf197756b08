package dev.closedloop.deploy.report;

/**
 * How promote would move one tag.
 *
 * @param currentDigest what the tag names now; null when it names nothing or is not known
 * @param known false when the registry was not read
 * @param newDigest what it would name; null when the image is yet to be built
 */
public record PlanTagMove(String tag, String reference, String currentDigest, boolean known, String newDigest) {

  String line() {
    String current = currentDigest == null ? (known ? "(none)" : "(unknown)") : currentDigest;
    String next = newDigest == null ? "(the digest of the build)" : newDigest;
    return "  " + (current.equals(next) ? "= " : current.equals("(none)") ? "+ " : "~ ") + reference + "  " + current
        + " -> " + next;
  }
}
