package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A PostgreSQL image built here from the machine's own PostgreSQL server and the libraries it
 * links (no image hub is reachable), started as the official {@code postgres} image is:
 * {@code POSTGRES_PASSWORD}, {@code POSTGRES_USER}, port 5432. It holds no contrib extensions:
 * an extension production has, this test database lacks. Built once per JVM.
 */
final class PostgresImage {

  private static String built;

  private PostgresImage() { }

  /** The machine's newest installed major version, e.g. 15 (scripts/services installs one). */
  static int major() {
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      return versions.map(p -> p.getFileName().toString()).filter(v -> v.matches("\\d+"))
          .mapToInt(Integer::parseInt).max().orElseThrow();
    } catch (IOException | RuntimeException e) {
      return fail("no PostgreSQL server under /usr/lib/postgresql: scripts/services up installs one");
    }
  }

  static synchronized String image(Path work) throws Exception {
    if (built != null) {
      return built;
    }
    int major = major();
    Path context = Files.createDirectories(work.resolve("postgres-image"));
    Path lib = Path.of("/usr/lib/postgresql/" + major);
    copyTree(lib.resolve("bin"), context);
    copyTree(lib.resolve("lib"), context); // initdb loads some (the snowball dictionaries)
    copyTree(Path.of("/usr/share/postgresql/" + major), context, path -> !path.toString().contains("/extension/")
        || path.getFileName().toString().startsWith("plpgsql"));
    copyTree(Path.of("/usr/share/zoneinfo"), context, path -> true);
    Set<Path> libraries = new TreeSet<>();
    for (String dir : List.of("bin", "lib")) {
      try (Stream<Path> binaries = Files.list(lib.resolve(dir))) {
        for (Path binary : (Iterable<Path>) binaries::iterator) {
          if (Files.isRegularFile(binary)) {
            libraries.addAll(linked(binary));
          }
        }
      }
    }
    for (Path library : libraries) {
      copy(library, context);
    }
    Files.writeString(context.resolve("passwd"), "root:x:0:0::/root:/bin/sh\npostgres:x:999:999::/tmp:/bin/sh\n");
    Files.writeString(context.resolve("group"), "root:x:0:\npostgres:x:999:\n");
    Files.copy(TestServices.busybox(), context.resolve("busybox"), StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(context.resolve("entrypoint.sh"), String.join("\n",
        "#!/bin/busybox sh",
        "set -e",
        "bin=/usr/lib/postgresql/" + major + "/bin",
        "echo \"$POSTGRES_PASSWORD\" > /tmp/pwfile",
        "$bin/initdb -D /tmp/data -U \"${POSTGRES_USER:-postgres}\" --pwfile=/tmp/pwfile -A scram-sha-256"
            + " -E UTF8 --locale=C --no-sync > /tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 1; }",
        "rm /tmp/pwfile",
        "echo 'host all all all scram-sha-256' >> /tmp/data/pg_hba.conf",
        "exec $bin/postgres -D /tmp/data -c listen_addresses='*' -c unix_socket_directories=/tmp -c fsync=off",
        ""));
    Files.writeString(context.resolve("Dockerfile"), String.join("\n",
        "FROM scratch",
        "COPY busybox /bin/busybox",
        "COPY passwd group /etc/",
        "COPY usr /usr/",
        "COPY lib /lib/",
        Files.isDirectory(context.resolve("lib64")) ? "COPY lib64 /lib64/" : "",
        "COPY entrypoint.sh /entrypoint.sh",
        "RUN [\"/bin/busybox\", \"mkdir\", \"-m\", \"1777\", \"/tmp\"]",
        "RUN [\"/bin/busybox\", \"ln\", \"-s\", \"/bin/busybox\", \"/bin/sh\"]",
        "RUN [\"/bin/busybox\", \"chmod\", \"755\", \"/entrypoint.sh\"]",
        "USER 999",
        "ENV TZ=UTC",
        "EXPOSE 5432",
        "ENTRYPOINT [\"/bin/busybox\", \"sh\", \"/entrypoint.sh\"]",
        ""));
    String tag = "closedloop-it/postgres:" + major;
    TestServices.Run build = TestServices.docker("build", "-q", "-t", tag, context.toString());
    assertThat(build.exitCode()).as(build.output()).isZero();
    built = tag;
    return tag;
  }

  /** The shared libraries {@code binary} loads, and the loader, as ldd names them. */
  private static Set<Path> linked(Path binary) throws IOException, InterruptedException {
    Process ldd = new ProcessBuilder("ldd", binary.toString()).redirectErrorStream(true).start();
    String output = new String(ldd.getInputStream().readAllBytes());
    ldd.waitFor();
    Set<Path> found = new TreeSet<>();
    Matcher m = Pattern.compile("(/\\S+) \\(0x").matcher(output);
    while (m.find()) {
      found.add(Path.of(m.group(1)));
    }
    return found;
  }

  private static void copyTree(Path root, Path context) throws IOException {
    copyTree(root, context, path -> true);
  }

  private static void copyTree(Path root, Path context, java.util.function.Predicate<Path> keep) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(file) && keep.test(file)) {
          copy(file, context);
        }
      }
    }
  }

  /** Copies {@code file} to the same absolute path under {@code context}, following links (/lib is one on Debian). */
  private static void copy(Path file, Path context) throws IOException {
    Path real = file.toRealPath();
    for (Path where : List.of(file, real)) {
      Path target = context.resolve(where.toString().substring(1).replaceFirst("^usr/lib/x86_64", "lib/x86_64"));
      if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectories(target.getParent());
        Files.copy(real, target);
      }
    }
  }
}
