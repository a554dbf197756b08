package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.internal.Events;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** A run of one step over an in-memory registry and production: no Docker, no PostgreSQL. */
final class StepFixture {

  static final String SHA = "0123456789abcdef0123456789abcdef01234567";

  final InMemoryRegistry registry = new InMemoryRegistry();
  final InMemoryProduction production = new InMemoryProduction(7);
  final List<ReleaseEvent> events = new CopyOnWriteArrayList<>();
  final ReleaseConfig config;
  /** How many times the run entered production. */
  int entered;

  StepFixture(Path dir) {
    this(dir, builder -> { });
  }

  /** With settings of the test's own, e.g. a rollout. */
  StepFixture(Path dir, java.util.function.Consumer<dev.closedloop.deploy.ReleaseBuilder> settings) {
    var builder = Release.configure().image("registry.example.com/shop").sha(SHA).buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir)).databaseUrl("postgresql://127.0.0.1:5432/shop", null, null)
        .lint("off");
    settings.accept(builder);
    config = builder.load().config();
  }

  RunContext context(Migrator migrator) {
    return new RunContext(config, new Events(List.of(events::add)), LedgerKind.RELEASE, registry,
        (context, step) -> {
          entered++;
          return production;
        }, step -> migrator);
  }

  /** The progress lines, as {@code [step] message}. */
  List<String> progress() {
    return events.stream().filter(ReleaseEvent.Progress.class::isInstance).map(ReleaseEvent.Progress.class::cast)
        .map(e -> "[" + e.step() + "] " + e.message()).toList();
  }

  /** The warnings, in order. */
  List<String> warnings() {
    return events.stream().filter(e -> e instanceof ReleaseEvent.Log log && log.level() == ReleaseEvent.Level.WARN)
        .map(e -> ((ReleaseEvent.Log) e).message()).toList();
  }
}
