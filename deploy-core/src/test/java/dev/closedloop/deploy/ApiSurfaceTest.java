package dev.closedloop.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public API is small and named here: a public class outside {@code internal} that is not on
 * this list fails the build, so making one public is a decision, not an accident. Everything under
 * {@code dev.closedloop.deploy.internal} may change in any release.
 */
class ApiSurfaceTest {

  /** The API: the entry point, configuration, results, events, errors, and what an embedder implements. */
  static final Set<String> API = Set.of(
      "dev.closedloop.deploy.Release",
      "dev.closedloop.deploy.ReleaseBuilder",
      "dev.closedloop.deploy.ReleaseConfig",
      "dev.closedloop.deploy.TestMigrateSettings",
      "dev.closedloop.deploy.ProductionSettings",
      "dev.closedloop.deploy.RegistrySettings",
      "dev.closedloop.deploy.Guards",
      "dev.closedloop.deploy.Compatibility",
      "dev.closedloop.deploy.Environment",
      "dev.closedloop.deploy.ReleaseResult",
      "dev.closedloop.deploy.StepResult",
      "dev.closedloop.deploy.Step",
      "dev.closedloop.deploy.ReleaseEvent",
      "dev.closedloop.deploy.ReleaseListener",
      "dev.closedloop.deploy.DeployException",
      "dev.closedloop.deploy.CheckLevel",
      "dev.closedloop.deploy.aws.AwsSettings",
      "dev.closedloop.deploy.database.Migrations",
      "dev.closedloop.deploy.database.FlywaySettings",
      "dev.closedloop.deploy.database.Migrator",
      "dev.closedloop.deploy.database.EphemeralDatabase",
      "dev.closedloop.deploy.database.DatabaseTarget",
      "dev.closedloop.deploy.database.ProductionDatabase",
      "dev.closedloop.deploy.database.MigrationOutcome",
      "dev.closedloop.deploy.database.MigrationSet",
      "dev.closedloop.deploy.database.AppliedMigration",
      "dev.closedloop.deploy.guard.CiEnvironment",
      "dev.closedloop.deploy.guard.Branch",
      "dev.closedloop.deploy.guard.LedgerEntry",
      "dev.closedloop.deploy.guard.LedgerKind",
      "dev.closedloop.deploy.guard.LedgerStatus",
      "dev.closedloop.deploy.guard.LockMode",
      "dev.closedloop.deploy.hook.Hook",
      "dev.closedloop.deploy.hook.HookPoint",
      "dev.closedloop.deploy.hook.HookRun",
      "dev.closedloop.deploy.hook.Hooks",
      "dev.closedloop.deploy.image.BuildRequest",
      "dev.closedloop.deploy.image.BuiltImage",
      "dev.closedloop.deploy.image.ImageRef",
      "dev.closedloop.deploy.image.RegistryCredentials",
      "dev.closedloop.deploy.image.TagMove",
      "dev.closedloop.deploy.lint.Finding",
      "dev.closedloop.deploy.lint.LintSettings",
      "dev.closedloop.deploy.lint.Rule",
      "dev.closedloop.deploy.report.CiLog",
      "dev.closedloop.deploy.report.Format",
      "dev.closedloop.deploy.report.GitHubActions",
      "dev.closedloop.deploy.report.History",
      "dev.closedloop.deploy.report.Plan",
      "dev.closedloop.deploy.report.LintFinding",
      "dev.closedloop.deploy.report.LintReport",
      "dev.closedloop.deploy.report.PlanCompatibility",
      "dev.closedloop.deploy.report.PlanDrift",
      "dev.closedloop.deploy.report.PlanGuard",
      "dev.closedloop.deploy.report.PlanImage",
      "dev.closedloop.deploy.report.PlanLint",
      "dev.closedloop.deploy.report.PlanLock",
      "dev.closedloop.deploy.report.PlanMigrations",
      "dev.closedloop.deploy.report.PlanProduction",
      "dev.closedloop.deploy.report.PlanRollout",
      "dev.closedloop.deploy.report.PlanTagMove",
      "dev.closedloop.deploy.rollout.Rollout",
      "dev.closedloop.deploy.rollout.RolloutResult",
      "dev.closedloop.deploy.rollout.RolloutSettings",
      "dev.closedloop.deploy.secret.Redactor");

  private static final Pattern PUBLIC_TYPE = Pattern.compile(
      "^public (?:final |abstract |sealed |non-sealed )*(?:class|interface|record|enum|@interface) (\\w+)",
      Pattern.MULTILINE);
  private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);

  @Test
  void everyPublicTypeOutsideInternal_isNamedAsApi() throws IOException {
    Set<String> publicOutsideInternal = new TreeSet<>();
    Path sources = Path.of("src/main/java");
    try (Stream<Path> files = Files.walk(sources)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        String text = Files.readString(file);
        Matcher pkg = PACKAGE.matcher(text);
        Matcher type = PUBLIC_TYPE.matcher(text);
        if (pkg.find() && type.find() && !pkg.group(1).contains(".internal")) {
          publicOutsideInternal.add(pkg.group(1) + "." + type.group(1));
        }
      }
    }

    assertThat(publicOutsideInternal).as("public types outside dev.closedloop.deploy.internal: add a new one to"
        + " ApiSurfaceTest.API only when embedders need it, else move it under internal").isSubsetOf(API);
    assertThat(publicOutsideInternal).as("every type the API list names is public and outside internal")
        .containsAll(API);
  }

  @Test
  void noApiSignature_mentionsAnInternalType() throws ClassNotFoundException {
    List<String> leaks = new ArrayList<>();
    for (String name : new TreeSet<>(API)) {
      checkType(Class.forName(name), leaks);
    }

    assertThat(leaks).as("public or protected signatures of API types that name a type under"
        + " dev.closedloop.deploy.internal: move the type into the API or hide the member").isEmpty();
  }

  /** Checks a type's supertypes and visible members, then its visible nested types the same way. */
  private static void checkType(Class<?> type, List<String> leaks) {
    String where = type.getName();
    check(type.getGenericSuperclass(), where + " extends", leaks);
    for (Type implemented : type.getGenericInterfaces()) {
      check(implemented, where + " implements", leaks);
    }
    for (TypeVariable<?> variable : type.getTypeParameters()) {
      check(variable, where + "<" + variable.getName() + ">", leaks);
    }
    if (type.isRecord()) {
      for (RecordComponent component : type.getRecordComponents()) {
        check(component.getGenericType(), where + "." + component.getName() + " (component)", leaks);
      }
    }
    for (Field field : type.getDeclaredFields()) {
      if (visible(field.getModifiers()) && !field.isSynthetic()) {
        check(field.getGenericType(), where + "." + field.getName(), leaks);
      }
    }
    for (Constructor<?> constructor : type.getDeclaredConstructors()) {
      checkExecutable(constructor, where + ".<init>", leaks);
    }
    for (Method method : type.getDeclaredMethods()) {
      if (!method.isBridge()) {
        checkExecutable(method, where + "." + method.getName() + "()", leaks);
        if (visible(method.getModifiers()) && !method.isSynthetic()) {
          check(method.getGenericReturnType(), where + "." + method.getName() + "() returns", leaks);
        }
      }
    }
    for (Class<?> nested : type.getDeclaredClasses()) {
      if (visible(nested.getModifiers())) {
        checkType(nested, leaks);
      }
    }
  }

  private static void checkExecutable(Executable executable, String where, List<String> leaks) {
    if (!visible(executable.getModifiers()) || executable.isSynthetic()) {
      return;
    }
    for (Type parameter : executable.getGenericParameterTypes()) {
      check(parameter, where + " parameter", leaks);
    }
    for (Type thrown : executable.getGenericExceptionTypes()) {
      check(thrown, where + " throws", leaks);
    }
    for (TypeVariable<?> variable : executable.getTypeParameters()) {
      check(variable, where + " <" + variable.getName() + ">", leaks);
    }
  }

  private static boolean visible(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  private static void check(Type type, String where, List<String> leaks) {
    for (Class<?> mentioned : mentionedClasses(type, new HashSet<>())) {
      if (mentioned.getName().startsWith("dev.closedloop.deploy.internal.")) {
        leaks.add(where + ": " + mentioned.getName());
      }
    }
  }

  /** Every class a generic type names: raw types, type arguments, bounds and array elements. */
  private static Set<Class<?>> mentionedClasses(Type type, Set<TypeVariable<?>> seen) {
    Set<Class<?>> classes = new HashSet<>();
    if (type instanceof Class<?> c) {
      Class<?> element = c;
      while (element.isArray()) {
        element = element.getComponentType();
      }
      classes.add(element);
    } else if (type instanceof ParameterizedType p) {
      classes.addAll(mentionedClasses(p.getRawType(), seen));
      if (p.getOwnerType() != null) {
        classes.addAll(mentionedClasses(p.getOwnerType(), seen));
      }
      for (Type argument : p.getActualTypeArguments()) {
        classes.addAll(mentionedClasses(argument, seen));
      }
    } else if (type instanceof WildcardType w) {
      for (Type bound : w.getUpperBounds()) {
        classes.addAll(mentionedClasses(bound, seen));
      }
      for (Type bound : w.getLowerBounds()) {
        classes.addAll(mentionedClasses(bound, seen));
      }
    } else if (type instanceof GenericArrayType a) {
      classes.addAll(mentionedClasses(a.getGenericComponentType(), seen));
    } else if (type instanceof TypeVariable<?> v && seen.add(v)) {
      for (Type bound : v.getBounds()) {
        classes.addAll(mentionedClasses(bound, seen));
      }
    }
    return classes;
  }
}
