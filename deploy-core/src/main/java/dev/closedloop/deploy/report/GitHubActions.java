package dev.closedloop.deploy.report;

import dev.closedloop.deploy.Release;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** What closedloop tells GitHub Actions through its workflow commands. */
public final class GitHubActions {

  private GitHubActions() {}

  /**
   * Under GitHub Actions, has {@code out} print {@code ::add-mask::} for every secret the release
   * resolved, and for each one its runs add later (ECR's push token), so GitHub masks them in the
   * job's log too, whatever prints them. Each command must be printed at the start of a line.
   * Nothing happens outside GitHub Actions.
   */
  public static void maskSecrets(Release release, Consumer<String> out) {
    if (!"true".equals(release.config().ci().variables().get("GITHUB_ACTIONS"))) {
      return;
    }
    release.onSecret(secret -> maskCommands(secret).forEach(out));
  }

  /** Under GitHub Actions, has {@code out} print the lint's findings as annotations on their files and lines. */
  public static void annotate(Release release, LintReport report, Consumer<String> out) {
    if ("true".equals(release.config().ci().variables().get("GITHUB_ACTIONS"))) {
      report.githubAnnotations().forEach(out);
    }
  }

  /** One command per line of {@code secret}, escaped as the runner unescapes command data. */
  static List<String> maskCommands(String secret) {
    List<String> commands = new ArrayList<>();
    secret.lines().filter(line -> !line.isBlank()).forEach(line -> commands.add("::add-mask::"
        + line.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")));
    return commands;
  }
}
