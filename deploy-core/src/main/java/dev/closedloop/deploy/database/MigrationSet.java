package dev.closedloop.deploy.database;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The migrations a run proved, in order, and one fingerprint over all of them: production gets a
 * set only when its fingerprint equals the one test-migrate recorded.
 */
public record MigrationSet(List<Migration> migrations, String fingerprint) {

  /** One migration file as Flyway resolved it; {@code version} is null for a repeatable one. */
  public record Migration(String version, String description, String script, Integer checksum) {

    /** A command run from the image ({@code deploy.migrator=image}): the command, and the image by digest. */
    public static Migration command(String command, String image) {
      return new Migration(null, command, image, null);
    }

    /** "V3 create orders", "R order totals", or "run goose up" for a command run from the image. */
    public String label() {
      if (version == null && checksum == null) {
        return "run " + description;
      }
      return (version != null ? "V" + version : "R") + " " + description;
    }
  }

  public MigrationSet {
    migrations = List.copyOf(migrations);
  }

  public static MigrationSet of(List<Migration> migrations) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (Migration m : migrations) {
      String line = m.version() + "|" + m.description() + "|" + m.script() + "|" + m.checksum() + "\n";
      sha256.update(line.getBytes(StandardCharsets.UTF_8));
    }
    return new MigrationSet(migrations, "sha256:" + HexFormat.of().formatHex(sha256.digest()));
  }

  /**
   * Refuses, before anything is applied, a set other than the one test-migrate proved in this
   * run; a null {@code expectedFingerprint} is the throwaway run, which is proving it.
   *
   * @param location where the migrations were read, for the message
   */
  public void requireProven(String expectedFingerprint, Object location) {
    if (expectedFingerprint != null && !expectedFingerprint.equals(fingerprint)) {
      throw new dev.closedloop.deploy.DeployException(dev.closedloop.deploy.DeployException.Kind.MIGRATION,
          "The migrations in " + location + " (" + fingerprint + ") are not the set test-migrate proved in this run ("
              + expectedFingerprint + "): they changed in between. Nothing was applied; run the release again");
    }
  }

  /** The latest version in the set, or null when it holds only repeatable migrations. */
  public String latestVersion() {
    String latest = null;
    for (Migration m : migrations) {
      if (m.version() != null) {
        latest = m.version();
      }
    }
    return latest;
  }
}
