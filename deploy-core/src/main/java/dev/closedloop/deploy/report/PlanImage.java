package dev.closedloop.deploy.report;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * What build would do with {@code <image>:<sha>}.
 *
 * @param reference {@code <image>:<sha>}
 * @param tags every tag a build pushes, {@code <sha>} first
 * @param digest what the registry has for {@code <image>:<sha>}; null when it has none or was not asked
 * @param registryProblem why the registry was not asked, already redacted; else null
 */
@JsonSerialize(using = PlanImage.Writer.class)
public record PlanImage(String reference, List<String> tags, String dockerfile, String context, boolean forceBuild,
    Action action, String digest, String registryProblem) {

  /** {@code unknown} when the registry could not be asked. */
  public enum Action {
    BUILD, REUSE, UNKNOWN;

    @JsonValue
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public PlanImage {
    tags = List.copyOf(tags);
  }

  /**
   * Writes the fields in the order schema version 1 has them: {@code registryProblem} (null) before the action
   * when the registry answered, after the digest when it did not.
   */
  static final class Writer extends StdSerializer<PlanImage> {

    Writer() {
      super(PlanImage.class);
    }

    @Override
    public void serialize(PlanImage image, JsonGenerator json, SerializerProvider provider) throws IOException {
      json.writeStartObject();
      json.writeStringField("reference", image.reference());
      json.writeArrayFieldStart("tags");
      for (String tag : image.tags()) {
        json.writeString(tag);
      }
      json.writeEndArray();
      json.writeStringField("dockerfile", image.dockerfile());
      json.writeStringField("context", image.context());
      json.writeBooleanField("forceBuild", image.forceBuild());
      boolean asked = image.action() != Action.UNKNOWN;
      if (asked) {
        json.writeStringField("registryProblem", image.registryProblem());
      }
      json.writeStringField("action", image.action().id());
      json.writeStringField("digest", image.digest());
      if (!asked) {
        json.writeStringField("registryProblem", image.registryProblem());
      }
      json.writeEndObject();
    }
  }

  String line() {
    return "  " + switch (action) {
      case BUILD -> "+ build " + dockerfile + " in " + context + " and push it as " + String.join(", ", tags);
      case REUSE -> "= reuse " + reference + " (" + digest + "), already in the registry";
      case UNKNOWN -> "? build or reuse " + reference + ": the registry was not asked";
    };
  }
}
