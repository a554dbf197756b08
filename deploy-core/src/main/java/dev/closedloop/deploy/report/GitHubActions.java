package dev.closedloop.deploy.report;

import dev.closedloop.deploy.ReleaseConfig;
import java.util.ArrayList;
import java.util.List;

/** What closedloop tells GitHub Actions through its workflow commands. */
public final class GitHubActions {

  private GitHubActions() {}

  /**
   * {@code ::add-mask::} for every secret the release resolved, one per line of each value, so
   * GitHub masks them in the job's log too, whatever prints them later. Empty outside GitHub
   * Actions. They must be printed before anything else, each at the start of a line.
   */
  public static List<String> maskCommands(ReleaseConfig config) {
    if (!"true".equals(config.ci().variables().get("GITHUB_ACTIONS"))) {
      return List.of();
    }
    List<String> commands = new ArrayList<>();
    for (String secret : config.redactor().secrets()) {
      secret.lines().filter(line -> !line.isBlank()).forEach(line -> commands.add("::add-mask::" + line));
    }
    return commands;
  }
}
