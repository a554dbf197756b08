package dev.closedloop.deploy.internal.image;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.ImageRef;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The registries a Dockerfile's {@code FROM} lines pull from, so the build can hand the engine
 * credentials for each: a private base image must pull as {@code docker build} would pull it
 * after {@code docker login}. Stages named earlier, {@code scratch}, and references that still
 * hold a variable after the build arguments and the global {@code ARG} defaults are left out.
 */
public final class BaseImages {

  private static final Pattern VARIABLE =
      Pattern.compile("\\$(?:\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?}|([A-Za-z_][A-Za-z0-9_]*))");

  private BaseImages() {}

  /** The registries (as {@link ImageRef#registry()} names them) of {@code dockerfile}'s base images. */
  public static Set<String> registries(Path dockerfile, Map<String, String> buildArgs) {
    String text;
    try {
      text = Files.readString(dockerfile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "Cannot read the Dockerfile " + dockerfile
          + ": " + e.getMessage());
    }
    Map<String, String> globals = new HashMap<>();
    Set<String> stages = new HashSet<>();
    Set<String> registries = new LinkedHashSet<>();
    boolean seenFrom = false;
    for (String instruction : instructions(text)) {
      String[] words = instruction.trim().split("\\s+");
      String keyword = words[0].toUpperCase(Locale.ROOT);
      if (keyword.equals("ARG") && !seenFrom) {
        for (int i = 1; i < words.length; i++) {
          int eq = words[i].indexOf('=');
          String name = eq < 0 ? words[i] : words[i].substring(0, eq);
          String value = buildArgs.containsKey(name) ? buildArgs.get(name) : eq < 0 ? null : unquote(words[i].substring(eq + 1));
          if (value != null) {
            globals.put(name, value);
          }
        }
      } else if (keyword.equals("FROM")) {
        seenFrom = true;
        int i = 1;
        while (i < words.length && words[i].startsWith("--")) {
          i++; // --platform=…
        }
        if (i >= words.length) {
          continue;
        }
        String image = substitute(words[i], globals);
        if (i + 2 < words.length && words[i + 1].equalsIgnoreCase("AS")) {
          stages.add(words[i + 2].toLowerCase(Locale.ROOT));
        }
        if (image == null || image.equalsIgnoreCase("scratch") || stages.contains(image.toLowerCase(Locale.ROOT))
            && !image.contains("/") && !image.contains(":")) {
          continue;
        }
        try {
          registries.add(ImageRef.parse(image).registry());
        } catch (DeployException e) {
          // not an image reference closedloop reads; the engine says what is wrong with it
        }
      }
    }
    return registries;
  }

  /** The Dockerfile's instructions: comments dropped, lines joined at a trailing backslash. */
  private static java.util.List<String> instructions(String text) {
    java.util.List<String> instructions = new java.util.ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\\R")) {
      String trimmed = line.strip();
      if (trimmed.startsWith("#") || (current.length() == 0 && trimmed.isEmpty())) {
        continue;
      }
      if (trimmed.endsWith("\\")) {
        current.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      current.append(trimmed);
      instructions.add(current.toString());
      current.setLength(0);
    }
    if (current.length() > 0) {
      instructions.add(current.toString());
    }
    return instructions;
  }

  /**
   * {@code reference} with {@code $NAME}, {@code ${NAME}}, {@code ${NAME:-default}} and
   * {@code ${NAME:+alternative}} filled in as the Dockerfile does; null when one is unknown.
   */
  private static String substitute(String reference, Map<String, String> values) {
    Matcher m = VARIABLE.matcher(reference);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) != null ? m.group(1) : m.group(4);
      String value = values.get(name);
      String modifier = m.group(2);
      if (modifier != null) {
        boolean set = value != null && (!modifier.startsWith(":") || !value.isEmpty());
        value = modifier.endsWith("-") ? (set ? value : m.group(3)) : (set ? m.group(3) : "");
      }
      if (value == null) {
        return null;
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static String unquote(String value) {
    return value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"")
        || value.startsWith("'") && value.endsWith("'")) ? value.substring(1, value.length() - 1) : value;
  }
}
