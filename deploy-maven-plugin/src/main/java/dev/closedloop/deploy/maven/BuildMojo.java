package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.ReleaseResult;
import java.io.File;
import java.util.List;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * Builds the image from the Dockerfile, tags it {@code <image>:<sha>} and pushes it; an image
 * already in the registry under that tag is reused. Never tags {@code latest}.
 */
@Mojo(name = "build", defaultPhase = LifecyclePhase.PACKAGE, threadSafe = true)
public class BuildMojo extends AbstractDeployMojo {

  /** The directory sent to the Docker engine as the build context. */
  @Parameter(property = "deploy.buildContext", defaultValue = "${project.basedir}")
  File buildContext;

  /** The Dockerfile, inside the build context; default {@code Dockerfile} there. */
  @Parameter(property = "deploy.dockerfile")
  File dockerfile;

  /** Build arguments ({@code --build-arg}) as {@code NAME=value}, comma-separated with -D. */
  @Parameter(property = "deploy.buildArgs")
  List<String> buildArgs = List.of();

  /** The Dockerfile stage to build ({@code --target}). */
  @Parameter(property = "deploy.buildTarget")
  String buildTarget;

  /**
   * Labels added to the image as {@code name=value}, comma-separated with -D, besides the OCI
   * revision, creation and source labels.
   */
  @Parameter(property = "deploy.labels")
  List<String> labels = List.of();

  /**
   * The source repository's web address, for the {@code org.opencontainers.image.source} label;
   * default: the POM's {@code <scm><url>}, else the CI system's repository URL.
   */
  @Parameter(property = "deploy.sourceUrl", defaultValue = "${project.scm.url}")
  String sourceUrl;

  /** Tags pushed besides {@code <sha>}, comma-separated with -D. Never {@code latest}. */
  @Parameter(property = "deploy.tags")
  List<String> tags = List.of();

  /** Rebuilds and pushes even when {@code <image>:<sha>} is already in the registry. */
  @Parameter(property = "deploy.forceBuild", defaultValue = "false")
  boolean forceBuild;

  @Inject
  public BuildMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:build";
  }

  @Override
  void configure(ReleaseConfig.Builder config) {
    config.buildContext(buildContext.toPath())
        .dockerfile(dockerfile != null ? dockerfile.toPath() : null)
        .buildArgs(buildArgs)
        .buildTarget(buildTarget)
        .labels(labels)
        .sourceUrl(sourceUrl)
        .tags(tags)
        .forceBuild(forceBuild);
  }

  @Override
  ReleaseResult run(Release release) {
    return release.build();
  }
}
