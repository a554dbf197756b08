package dev.closedloop.deploy.internal.hook;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.hook.Hook;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.internal.Durations;
import dev.closedloop.deploy.internal.ExitCleanup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A shell command as a hook ({@code sh -c}, in a session of its own), run in the project's
 * directory with the run's variables added to the environment, standard input closed, its output
 * (both streams) streamed line by line. When it ends or its time is up, its whole process group
 * is killed: nothing it started outlives it.
 */
public final class CommandHook implements Hook {

  private static final boolean SETSID = onPath("setsid");

  private final String command;
  private final Path directory;
  private final Duration timeout;

  public CommandHook(String command, Path directory, Duration timeout) {
    this.command = command;
    this.directory = directory;
    this.timeout = timeout;
  }

  /**
   * Reads {@code deploy.hooks} entries, each {@code <point>=<command>}, e.g.
   * {@code post-promote=./notify.sh}, into command hooks by point, in the order written; problems
   * are added to {@code problems}, one line each.
   */
  public static Map<HookPoint, List<Hook>> parse(List<String> entries, Duration timeout, Path directory,
      List<String> problems) {
    Map<HookPoint, List<Hook>> hooks = new EnumMap<>(HookPoint.class);
    for (String entry : entries) {
      if (entry == null || entry.isBlank()) {
        continue;
      }
      int equals = entry.indexOf('=');
      String setting = "hooks (deploy.hooks)";
      if (equals < 0) {
        problems.add(setting + ": '" + entry + "' is not <point>=<command>, e.g. post-promote=./notify.sh");
        continue;
      }
      String command = entry.substring(equals + 1).trim();
      try {
        HookPoint point = HookPoint.parse(entry.substring(0, equals), setting);
        if (command.isEmpty()) {
          problems.add(setting + ": the " + point + " hook has no command");
          continue;
        }
        hooks.computeIfAbsent(point, p -> new ArrayList<>()).add(new CommandHook(command, directory, timeout));
      } catch (DeployException e) {
        problems.add(e.getMessage());
      }
    }
    return hooks;
  }

  @Override
  public void run(Map<String, String> environment, Consumer<String> output) throws IOException, InterruptedException {
    // a session of its own where setsid exists (Linux): what the command leaves running in the
    // background is stopped with it; elsewhere (macOS) only its descendants still running are
    List<String> argv = new java.util.ArrayList<>(SETSID ? List.of("setsid") : List.of());
    argv.addAll(List.of("sh", "-c", command));
    ProcessBuilder builder = new ProcessBuilder(argv).directory(directory.toFile()).redirectErrorStream(true);
    builder.environment().putAll(environment);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.HOOK, "Cannot start the hook '" + command + "' in " + directory
          + ": " + e.getMessage(), e);
    }
    // a JVM stopped by Ctrl-C or its CI must not leave a hook behind, outside Maven's process group
    ExitCleanup.Handle killOnExit = ExitCleanup.register("kill a hook's process " + process.pid(), () -> kill(process));
    process.getOutputStream().close();
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          output.accept(line);
        }
      } catch (IOException e) {
        // the process was killed: its output ends here
      }
    }, "closedloop-hook-output");
    reader.setDaemon(true);
    reader.start();
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(process);
        throw new DeployException(DeployException.Kind.HOOK, "the hook '" + command + "' did not end within "
            + Durations.format(timeout) + " (deploy.hookTimeout) and was killed");
      }
    } catch (InterruptedException e) {
      kill(process);
      killOnExit.close();
      throw e;
    } catch (RuntimeException e) {
      killOnExit.close();
      throw e;
    }
    kill(process); // what it left running in the background ends with it, and lets go of the output pipe
    killOnExit.close();
    reader.join(2000);
    if (process.exitValue() != 0) {
      throw new DeployException(DeployException.Kind.HOOK, "the hook '" + command + "' exited with "
          + process.exitValue() + (process.exitValue() == 127 ? " (command not found)" : "")
          + "; its output is in the log above");
    }
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    return path != null && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
        .anyMatch(dir -> !dir.isEmpty() && java.nio.file.Files.isExecutable(Path.of(dir, program)));
  }

  /** Kills the hook's whole process group, also what it started in the background and left behind. */
  private static void kill(Process process) {
    if (process.isAlive()) { // a reaped process's pid may be someone else's by now
      process.descendants().forEach(ProcessHandle::destroyForcibly);
    }
    if (!SETSID) {
      process.destroyForcibly();
      return;
    }
    try {
      // the shell's own kill: /bin/kill (procps) is missing from slim images. The group's id is the
      // hook's pid, which its members keep in use while any of them lives
      new ProcessBuilder("sh", "-c", "kill -KILL -" + process.pid() + " 2>/dev/null").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, TimeUnit.SECONDS);
    } catch (IOException e) {
      // descendants were killed one by one above
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process.destroyForcibly();
  }

  @Override
  public String describe() {
    return command;
  }
}
