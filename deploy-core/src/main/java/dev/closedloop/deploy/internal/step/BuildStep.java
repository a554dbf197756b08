package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.internal.image.DockerConfig;
import dev.closedloop.deploy.internal.image.ImageBuilder;
import dev.closedloop.deploy.secret.Redactor;
import java.util.ArrayList;
import java.util.List;

/** Builds {@code <image>:<sha>} and pushes it, or reuses it when the registry has it already. */
public final class BuildStep implements ReleaseStep<BuiltImage> {

  /** The image in the registry: built and pushed, or found there already. */
  public static final RunState.Key<BuiltImage> IMAGE = new RunState.Key<>("image");

  @Override
  public Step step() {
    return Step.BUILD;
  }

  @Override
  public RunState.Key<BuiltImage> result() {
    return IMAGE;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.DOCKER;
  }

  @Override
  public List<String> missingSettings(ReleaseConfig config) {
    return RequiredSettings.imageAndSha(config);
  }

  @Override
  public HookPoint hookBefore() {
    return HookPoint.PRE_BUILD;
  }

  @Override
  public BuiltImage run(RunContext context) {
    ReleaseConfig config = context.config();
    ImageBuilder.validate(config.buildRequest());
    ImageBuilder builder = new ImageBuilder(context.docker(), context.registry(), context.registryCredentials(),
        context::pullCredentials, context::buildKit, context::buildSecret,
        DockerConfig.current(config.ci().variables()).directory(), context.events());
    try (RunContext.Registration stopping = context.onStop(builder::abort)) {
      return builder.build(config.buildRequest());
    }
  }

  @Override
  public String summarize(ReleaseConfig config, BuiltImage built) {
    return (built.reused() ? "reused " : "pushed ") + built.image() + " (" + built.digest() + ")";
  }

  @Override
  public String describe(ReleaseConfig config) {
    BuildRequest request = config.buildRequest();
    List<String> tags = new ArrayList<>(List.of(request.shaRef().toString()));
    request.extraTags().forEach(tag -> tags.add(request.repository().withTag(tag).toString()));
    return "build " + request.dockerfile() + " in " + request.context() + " and push it as " + String.join(", ", tags)
        + (request.force() ? " (forced, even when " + request.shaRef() + " is in the registry)"
            : ", unless " + request.shaRef() + " is in the registry already (then it is reused)");
  }

  /**
   * The plan's image section: build {@code <image>:<sha>}, or reuse what the registry has.
   *
   * @param digest what the registry has for {@code <image>:<sha>}; null when it has none or was not asked
   * @param registryProblem why the registry was not asked, redacted (the planner names it among what is not known);
   *     else null
   */
  static dev.closedloop.deploy.report.PlanImage plan(ReleaseConfig config, Redactor redactor, String digest,
      String registryProblem, PlanNotes notes) {
    BuildRequest request = config.buildRequest();
    try {
      ImageBuilder.validate(request);
    } catch (DeployException e) {
      notes.blocker(redactor.redact(e.getMessage()));
    }
    List<String> tags = new ArrayList<>(List.of(request.shaRef().toString()));
    request.extraTags().forEach(tag -> tags.add(request.repository().withTag(tag).toString()));
    var action = registryProblem != null ? dev.closedloop.deploy.report.PlanImage.Action.UNKNOWN
        : digest != null && !request.force() ? dev.closedloop.deploy.report.PlanImage.Action.REUSE
        : dev.closedloop.deploy.report.PlanImage.Action.BUILD;
    return new dev.closedloop.deploy.report.PlanImage(request.shaRef().toString(), tags,
        request.dockerfile().toString(), request.context().toString(), request.force(), action, digest,
        registryProblem);
  }
}
