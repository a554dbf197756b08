package dev.closedloop.deploy.maven;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The goals, each with the parameters it reads: {@code mvn deploy:help}, or one goal's with
 * {@code -Dgoal=build}; {@code -Ddetail} adds each parameter's description and default.
 */
@Mojo(name = "help", requiresProject = false, threadSafe = true)
public class HelpMojo extends AbstractMojo {

  /** One goal to describe, e.g. {@code build}; all of them when unset. */
  @Parameter(property = "goal")
  String goal;

  /** Each parameter's description and default too. */
  @Parameter(property = "detail", defaultValue = "false")
  boolean detail;

  /** Where the goals' parameters are declared: the shared base and each goal's own. */
  static final List<Class<?>> PARAMETERS_IN = List.of(AbstractDeployMojo.class, BuildMojo.class, TestMigrateMojo.class,
      MigrateMojo.class, PromoteMojo.class, ReleaseMojo.class, RollbackMojo.class, HistoryMojo.class, PlanMojo.class,
      LintMojo.class);

  /** A goal's place in the plugin descriptor: its description and its parameters by name. */
  private record Described(String description, Map<String, String[]> parameters) {}

  @Override
  public void execute() throws MojoExecutionException {
    Map<String, Described> descriptor = descriptor();
    Map<String, List<String>> readBy = readBy();
    List<String> goals = goal == null || goal.isBlank() ? Goals.ALL : List.of(goal.trim().replaceFirst("^deploy:", ""));
    for (String name : goals) {
      Described described = descriptor.get(name);
      if (described == null) {
        throw new MojoExecutionException("deploy:help: there is no goal '" + goal.trim() + "'; the goals are "
            + String.join(", ", Goals.ALL));
      }
      getLog().info("deploy:" + name);
      getLog().info("  " + firstSentence(described.description()));
      List<String> lines = new ArrayList<>();
      readBy.forEach((parameter, goalsReading) -> {
        if (goalsReading.contains(name)) {
          String[] about = described.parameters().getOrDefault(parameter, new String[] {"", "", ""});
          lines.add("    -D" + about[0] + (detail && !about[2].isEmpty() ? " (default: " + about[2] + ")" : ""));
          if (detail) {
            lines.add("        " + firstSentence(about[1]));
          }
        }
      });
      if (!lines.isEmpty()) {
        getLog().info("  reads:");
        lines.forEach(getLog()::info);
      }
      getLog().info("");
    }
    getLog().info("<environments> in the plugin's <configuration> defines named groups of these settings (staging,"
        + " production), selected with -Ddeploy.environment: docs/configuration.md#environments");
    if (!detail) {
      getLog().info("-Dgoal=<goal> shows one goal; -Ddetail adds what each parameter means. Every parameter:"
          + " docs/configuration.md");
    }
  }

  /** Each parameter field, in declaration order, with the goals that read it. */
  private static Map<String, List<String>> readBy() {
    Map<String, List<String>> readBy = new LinkedHashMap<>();
    for (Class<?> type : PARAMETERS_IN) {
      for (Field field : type.getDeclaredFields()) {
        Goals goals = field.getAnnotation(Goals.class);
        if (goals != null) {
          readBy.put(field.getName(), Arrays.equals(goals.value(), new String[] {"all"}) ? Goals.ALL
              : List.of(goals.value()));
        }
      }
    }
    return readBy;
  }

  /** The plugin descriptor maven-plugin-plugin wrote: each goal's description, and each parameter's property, description and default. */
  private static Map<String, Described> descriptor() throws MojoExecutionException {
    try (InputStream in = HelpMojo.class.getResourceAsStream("/META-INF/maven/plugin.xml")) {
      if (in == null) {
        throw new MojoExecutionException("deploy:help: the plugin's descriptor is missing from its jar");
      }
      DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      Element root = factory.newDocumentBuilder().parse(in).getDocumentElement();
      Map<String, Described> goals = new LinkedHashMap<>();
      NodeList mojos = root.getElementsByTagName("mojo");
      for (int i = 0; i < mojos.getLength(); i++) {
        Element mojo = (Element) mojos.item(i);
        Map<String, String[]> parameters = new LinkedHashMap<>();
        Element configuration = child(mojo, "configuration");
        NodeList parameterList = mojo.getElementsByTagName("parameter");
        for (int j = 0; j < parameterList.getLength(); j++) {
          Element parameter = (Element) parameterList.item(j);
          String name = text(parameter, "name");
          String property = name;
          String defaultValue = "";
          if (configuration != null) {
            Element configured = child(configuration, name);
            if (configured != null) {
              property = configured.getTextContent().replaceAll("^\\$\\{(.*)}$", "$1");
              defaultValue = configured.getAttribute("default-value");
            }
          }
          parameters.put(name, new String[] {property, text(parameter, "description"), defaultValue});
        }
        goals.put(text(mojo, "goal"), new Described(text(mojo, "description"), parameters));
      }
      return goals;
    } catch (IOException | javax.xml.parsers.ParserConfigurationException | org.xml.sax.SAXException e) {
      throw new MojoExecutionException("deploy:help: cannot read the plugin's descriptor: " + e.getMessage(), e);
    }
  }

  private static Element child(Element parent, String name) {
    for (org.w3c.dom.Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
      if (node instanceof Element element && element.getTagName().equals(name)) {
        return element;
      }
    }
    return null;
  }

  private static String text(Element parent, String name) {
    Element child = child(parent, name);
    return child == null ? "" : child.getTextContent().trim();
  }

  /** The first sentence of a descriptor's text, its HTML dropped and its lines joined. */
  static String firstSentence(String html) {
    String plain = html.replaceAll("<[^>]+>", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        .replaceAll("\\s+", " ").trim();
    int end = plain.indexOf(". ");
    return end < 0 ? plain : plain.substring(0, end + 1);
  }
}
