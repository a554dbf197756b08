package dev.closedloop.deploy.rollout;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.internal.Durations;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the promoted image goes live and how long the release waits for it: {@code deploy.rollout},
 * {@code deploy.rolloutService}, {@code deploy.rolloutTimeout}, for {@code local} the container's
 * ports, environment and health check, and for every target what must answer once it is live.
 *
 * @param env the local container's environment, secret references already resolved (and masked)
 * @param healthUrl {@code deploy.healthUrl}: for {@code local} the container's check; for a cloud target the
 *     public address that must answer 2xx before the rollout counts as succeeded; or null
 * @param healthExpect {@code deploy.healthExpect}: text {@code healthUrl}'s answer must contain (the commit SHA a
 *     version endpoint returns, say), so the rollout succeeds only once the release itself serves; or null
 * @param ecsWithoutRollback {@code deploy.ecsWithoutRollback}: an ECS service without the circuit breaker's
 *     rollback is followed to its steady state and judged by {@code healthUrl} instead of being refused
 * @param own for {@link Kind#OWN}, the embedder's own rollout; else null
 */
public record RolloutSettings(Kind kind, String service, Duration timeout, List<PortBinding> ports,
    Map<String, String> env, URI healthUrl, String healthCommand, String healthExpect, boolean ecsWithoutRollback,
    Rollout own) {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(30);

  private static final Pattern APP_RUNNER_ARN =
      Pattern.compile("arn:aws(-[a-z]+)*:apprunner:([a-z]{2}(-[a-z]+)+-\\d):(\\d{12}):service/[A-Za-z0-9_-]+/[0-9a-zA-Z]+");
  private static final Pattern ECS_SERVICE_ARN =
      Pattern.compile("arn:aws(-[a-z]+)*:ecs:([a-z]{2}(-[a-z]+)+-\\d):(\\d{12}):service/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)");
  private static final Pattern ECS_NAME = Pattern.compile("([A-Za-z0-9_-]{1,255})/([A-Za-z0-9_-]{1,255})");
  private static final Pattern CONTAINER_NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}");

  /** The rollout targets, by their {@code deploy.rollout} names. */
  public enum Kind {
    NONE("none", null),
    LOCAL("local", "the container name, e.g. shop-service"),
    APP_RUNNER("apprunner", "the App Runner service ARN, arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID"),
    ECS("ecs", "CLUSTER/SERVICE, or the ECS service ARN"),
    ECS_EXPRESS("ecs-express", "the Express service ARN, arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME"),
    /** An embedder's own {@link Rollout}, given to the builder; no {@code deploy.rollout} value names it. */
    OWN("own", null);

    private final String id;
    private final String serviceHint;

    Kind(String id, String serviceHint) {
      this.id = id;
      this.serviceHint = serviceHint;
    }

    public String id() {
      return id;
    }

    static Kind parse(String text) {
      String value = text == null || text.isBlank() ? "none" : text.trim().toLowerCase(java.util.Locale.ROOT);
      return Arrays.stream(values()).filter(kind -> kind != OWN && kind.id.equals(value)).findFirst()
          .orElseThrow(() -> new DeployException(DeployException.Kind.CONFIGURATION, "rollout (deploy.rollout) must"
              + " be one of none, local, apprunner, ecs, ecs-express; got '" + text + "'"));
    }
  }

  /** {@code [ip:]hostPort:containerPort[/tcp|udp]}, as {@code docker run -p} takes it. */
  public record PortBinding(String hostIp, int hostPort, int containerPort, String protocol) {

    private static final Pattern FORM = Pattern.compile("(?:([0-9.]+):)?(\\d{1,5}):(\\d{1,5})(?:/(tcp|udp))?");

    static PortBinding parse(String text) {
      Matcher m = FORM.matcher(text == null ? "" : text.trim());
      if (!m.matches() || port(m.group(2)) == 0 || port(m.group(3)) == 0) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "localPorts (deploy.localPorts) takes"
            + " HOSTPORT:CONTAINERPORT entries such as 18080:8080 (optionally IP: before and /udp after); got '"
            + text + "'");
      }
      return new PortBinding(m.group(1), port(m.group(2)), port(m.group(3)), m.group(4) == null ? "tcp" : m.group(4));
    }

    private static int port(String digits) {
      int port = Integer.parseInt(digits);
      return port > 65535 ? 0 : port;
    }

    @Override
    public String toString() {
      return (hostIp != null ? hostIp + ":" : "") + hostPort + ":" + containerPort
          + ("tcp".equals(protocol) ? "" : "/" + protocol);
    }
  }

  public RolloutSettings {
    ports = List.copyOf(ports);
    env = Map.copyOf(env);
  }

  /** The settings without the environment's values, which may be secrets. */
  @Override
  public String toString() {
    return "RolloutSettings[kind=" + kind.id() + ", service=" + service + ", timeout=" + timeout + ", ports=" + ports
        + ", env=" + env.keySet() + ", healthUrl=" + healthUrl + ", healthCommand=" + healthCommand + ", healthExpect="
        + healthExpect + ", ecsWithoutRollback=" + ecsWithoutRollback + "]";
  }

  public static RolloutSettings none() {
    return new RolloutSettings(Kind.NONE, null, DEFAULT_TIMEOUT, List.of(), Map.of(), null, null, null, false, null);
  }

  /** These settings with {@code own}, an embedder's rollout, as the target; the timeout and the live check stay. */
  public RolloutSettings withOwn(Rollout own) {
    return new RolloutSettings(Kind.OWN, own.target(), timeout, List.of(), Map.of(), healthUrl, null, healthExpect,
        false, own);
  }

  public boolean enabled() {
    return kind != Kind.NONE;
  }

  /**
   * Reads the settings as written; {@code env} values are already resolved.
   *
   * @throws DeployException of kind CONFIGURATION naming every bad setting
   */
  public static RolloutSettings parse(String kindText, String serviceText, String timeoutText, List<String> portTexts,
      Map<String, String> env, String healthUrlText, String healthCommand) {
    return parse(kindText, serviceText, timeoutText, portTexts, env, healthUrlText, healthCommand, null, false);
  }

  /** As {@link #parse(String, String, String, List, Map, String, String)}, with what a live release must answer. */
  public static RolloutSettings parse(String kindText, String serviceText, String timeoutText, List<String> portTexts,
      Map<String, String> env, String healthUrlText, String healthCommand, String healthExpectText,
      boolean ecsWithoutRollback) {
    List<String> problems = new ArrayList<>();
    Kind kind = null;
    try {
      kind = Kind.parse(kindText);
    } catch (DeployException e) {
      problems.add(e.getMessage());
    }
    Duration timeout = DEFAULT_TIMEOUT;
    if (timeoutText != null && !timeoutText.isBlank()) {
      try {
        timeout = Durations.parse(timeoutText, "rolloutTimeout (deploy.rolloutTimeout)");
        if (timeout.isNegative() || timeout.isZero()) {
          problems.add("rolloutTimeout (deploy.rolloutTimeout) must be more than zero");
        }
      } catch (DeployException e) {
        problems.add(e.getMessage());
      }
    }
    String service = serviceText == null || serviceText.isBlank() ? null : serviceText.trim();
    List<PortBinding> ports = new ArrayList<>();
    URI healthUrl = null;
    String command = healthCommand == null || healthCommand.isBlank() ? null : healthCommand.trim();
    if (kind != null && kind != Kind.NONE) {
      if (service == null) {
        problems.add("rolloutService (deploy.rolloutService) is required by deploy.rollout=" + kind.id + ": "
            + kind.serviceHint);
      } else if (!serviceMatches(kind, service)) {
        problems.add("rolloutService (deploy.rolloutService) '" + service + "' is not " + kind.serviceHint);
      }
    }
    if (healthUrlText != null && !healthUrlText.isBlank() && kind != null) { // NONE: an embedder's own may follow
      try {
        healthUrl = URI.create(healthUrlText.trim());
      } catch (IllegalArgumentException e) {
        healthUrl = null;
      }
      if (healthUrl == null || healthUrl.getHost() == null || !("http".equals(healthUrl.getScheme())
          || "https".equals(healthUrl.getScheme()))) {
        problems.add("healthUrl (deploy.healthUrl) must be an http(s) URL such as " + (kind == Kind.LOCAL
            ? "http://127.0.0.1:18080/health" : "https://shop.example.com/version") + "; got " + (healthUrlText
            .contains("@") ? "one with an '@'" : "'" + healthUrlText + "'"));
        healthUrl = null;
      } else if (healthUrl.getRawUserInfo() != null) { // it would be printed, and Java's client sends it nowhere
        problems.add("healthUrl (deploy.healthUrl) must not hold a user or password: the address a release is"
            + " checked at is asked without credentials");
        healthUrl = null;
      }
    }
    String healthExpect = healthExpectText == null || healthExpectText.isBlank() ? null : healthExpectText.trim();
    if (healthExpect != null && healthUrl == null && problems.stream().noneMatch(p -> p.startsWith("healthUrl"))) {
      problems.add("healthExpect (deploy.healthExpect) is looked for in what deploy.healthUrl answers: set"
          + " deploy.healthUrl too");
    }
    if (ecsWithoutRollback && kind != null && kind != Kind.ECS) {
      problems.add("ecsWithoutRollback (deploy.ecsWithoutRollback) is for deploy.rollout=ecs only");
    } else if (ecsWithoutRollback && healthUrl == null && problems.stream().noneMatch(p -> p.startsWith("healthUrl"))) {
      problems.add("ecsWithoutRollback (deploy.ecsWithoutRollback) judges the deployment by deploy.healthUrl"
          + " instead of ECS's circuit breaker: set deploy.healthUrl to the service's public health address");
    }
    if (kind == Kind.LOCAL) {
      for (String text : portTexts) {
        try {
          ports.add(PortBinding.parse(text));
        } catch (DeployException e) {
          problems.add(e.getMessage());
        }
      }
      if (healthUrl != null) {
        if (ports.stream().noneMatch(port -> port.hostPort() == effectivePort(healthUrlOf(healthUrlText)))) {
          problems.add("healthUrl (deploy.healthUrl) " + healthUrlText + " must use one of the host ports of"
              + " deploy.localPorts " + portTexts + ": the new container is checked on a spare port of its own"
              + " before it takes the old one's place");
        }
      }
      if (healthUrl == null && command == null && problems.stream().noneMatch(p -> p.startsWith("healthUrl"))) {
        problems.add("deploy.rollout=local needs a health check: set healthUrl (deploy.healthUrl, answering 2xx) or"
            + " healthCommand (deploy.healthCommand, run in the container, exiting 0)");
      }
    }
    if (!problems.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, String.join("; ", problems));
    }
    return new RolloutSettings(kind, service, timeout, ports, env, healthUrl, command, healthExpect,
        ecsWithoutRollback, null);
  }

  private static URI healthUrlOf(String text) {
    return URI.create(text.trim());
  }

  /** The URL's port, or its scheme's default. */
  public static int effectivePort(URI url) {
    return url.getPort() != -1 ? url.getPort() : "https".equals(url.getScheme()) ? 443 : 80;
  }

  private static boolean serviceMatches(Kind kind, String service) {
    return switch (kind) {
      case LOCAL -> CONTAINER_NAME.matcher(service).matches();
      case APP_RUNNER -> APP_RUNNER_ARN.matcher(service).matches();
      case ECS -> ECS_SERVICE_ARN.matcher(service).matches() || ECS_NAME.matcher(service).matches();
      case ECS_EXPRESS -> ECS_SERVICE_ARN.matcher(service).matches();
      case NONE, OWN -> true;
    };
  }

  /** The region an ARN names, or null for a name without one. */
  public String serviceRegion() {
    Matcher m = (kind == Kind.APP_RUNNER ? APP_RUNNER_ARN : ECS_SERVICE_ARN).matcher(service == null ? "" : service);
    return m.matches() ? m.group(2) : null;
  }

  /** For ECS: the cluster and the service name, from {@code cluster/service} or the service ARN. */
  public String[] ecsClusterAndService() {
    Matcher arn = ECS_SERVICE_ARN.matcher(service);
    if (arn.matches()) {
      return new String[] {arn.group(5), arn.group(6)};
    }
    Matcher name = ECS_NAME.matcher(service);
    if (!name.matches()) {
      throw new IllegalStateException(service);
    }
    return new String[] {name.group(1), name.group(2)};
  }
}
