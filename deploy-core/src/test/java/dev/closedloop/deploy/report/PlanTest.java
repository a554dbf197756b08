package dev.closedloop.deploy.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.report.PlanGuard.Kind;
import dev.closedloop.deploy.report.PlanGuard.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The plan's JSON (schema version 1, field by field and in order) and its text, from typed sections. */
class PlanTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Every section filled: production read, the registry asked, a lint, a drift, a compatibility check, a rollout. */
  static Plan full() {
    return new Plan("abc123", "shop", new Plan.Ci("GitHub Actions", "https://github.com/o/r/actions/runs/7"),
        List.of(new PlanGuard(Kind.BRANCH, Verdict.PASS, "branch 'main' (GITHUB_REF) is one of main, master"),
            new PlanGuard(Kind.DATABASE_TLS, Verdict.WARN, "databaseUrl: no TLS"),
            new PlanGuard(Kind.POOLER, Verdict.REFUSE, "databaseUrl (deploy.databaseUrl): a pooler"),
            new PlanGuard(Kind.COMMIT_ORDER, Verdict.PASS, "newer than release #40 of def (git ancestry)")),
        new PlanImage("reg/shop:abc123", List.of("reg/shop:abc123", "reg/shop:v1"), "Dockerfile", ".", false,
            PlanImage.Action.REUSE, "sha256:new", null),
        PlanProduction.read("postgresql://db:5432/shop"),
        new PlanLock("shop", true, new PlanLock.Holder(41, "def", "migrating", "2026-01-02T03:04:05Z"),
            List.of(new PlanLock.Holder(42, "fed", "queued", "2026-01-02T03:04:06Z"),
                new PlanLock.Holder(43, "eed", "queued", "2026-01-02T03:04:07Z"))),
        new PlanMigrations("Flyway migrations in classpath:db/migration", "f00d",
            List.of(new PlanMigrations.Migration("V1 init", "1", "init", false),
                new PlanMigrations.Migration("V2 index", "2", "index", true)), 1),
        new PlanLint(List.of(
            new LintFinding("index-not-concurrent", "fail", "V2 index", 3, "CREATE INDEX on orders", "it locks writes",
                "CONCURRENTLY"),
            new LintFinding("add-column-default", "warn", "V2 index", 5, "ADD COLUMN x", "old servers", "two steps"))),
        new PlanDrift(true, "1", List.of(new PlanDrift.Difference("view orders_open", "(definition not shown)", null,
            "view orders_open: production has it, the migrations do not")), "functions not compared"),
        List.of(new PlanTagMove("latest", "reg/shop:latest", "sha256:old", true, "sha256:new"),
            new PlanTagMove("stable", "reg/shop:stable", null, true, "sha256:new"),
            new PlanTagMove("same", "reg/shop:same", "sha256:new", true, "sha256:new")),
        new PlanCompatibility("./check.sh", null, "10m", "reg/shop@sha256:old", true),
        new PlanRollout("ecs", "shop-svc", "service shop-svc is ACTIVE", true),
        List.of(new Plan.StepLine("build", "build Dockerfile in ."), new Plan.StepLine("promote", "move latest")),
        List.of(new Plan.HookLine("post-release", "./notify.sh")),
        List.of("databaseUrl (deploy.databaseUrl): a pooler", "Refusing to migrate production: the lint found 1"),
        List.of("not resolved here: apiKey"));
  }

  static final String FULL = """
      {"schemaVersion":1,"sha":"abc123","service":"shop",
       "ci":{"system":"GitHub Actions","runUrl":"https://github.com/o/r/actions/runs/7"},
       "guards":[{"guard":"branch","verdict":"pass","detail":"branch 'main' (GITHUB_REF) is one of main, master"},
                 {"guard":"database TLS","verdict":"warn","detail":"databaseUrl: no TLS"},
                 {"guard":"pooler","verdict":"refuse","detail":"databaseUrl (deploy.databaseUrl): a pooler"},
                 {"guard":"commit order","verdict":"pass","detail":"newer than release #40 of def (git ancestry)"}],
       "image":{"reference":"reg/shop:abc123","tags":["reg/shop:abc123","reg/shop:v1"],"dockerfile":"Dockerfile",
                "context":".","forceBuild":false,"registryProblem":null,"action":"reuse","digest":"sha256:new"},
       "production":{"database":"postgresql://db:5432/shop","reachable":true,"problem":null},
       "lock":{"name":"shop","known":true,
               "holder":{"id":41,"sha":"def","status":"migrating","startedAt":"2026-01-02T03:04:05Z"},
               "queue":[{"id":42,"sha":"fed","status":"queued","startedAt":"2026-01-02T03:04:06Z"},
                        {"id":43,"sha":"eed","status":"queued","startedAt":"2026-01-02T03:04:07Z"}]},
       "migrations":{"source":"Flyway migrations in classpath:db/migration","fingerprint":"f00d",
                     "list":[{"migration":"V1 init","version":"1","description":"init","pending":false},
                             {"migration":"V2 index","version":"2","description":"index","pending":true}],
                     "pending":1},
       "lint":[{"rule":"index-not-concurrent","level":"fail","migration":"V2 index","line":3,
                "statement":"CREATE INDEX on orders","explanation":"it locks writes","alternative":"CONCURRENTLY"},
               {"rule":"add-column-default","level":"warn","migration":"V2 index","line":5,
                "statement":"ADD COLUMN x","explanation":"old servers","alternative":"two steps"}],
       "drift":{"checked":true,"version":"1",
                "differences":[{"object":"view orders_open","production":"(definition not shown)","migrations":null,
                                "line":"view orders_open: production has it, the migrations do not"}],
                "reason":"functions not compared"},
       "tagMoves":[{"tag":"latest","reference":"reg/shop:latest","currentDigest":"sha256:old","known":true,
                    "newDigest":"sha256:new"},
                   {"tag":"stable","reference":"reg/shop:stable","currentDigest":null,"known":true,
                    "newDigest":"sha256:new"},
                   {"tag":"same","reference":"reg/shop:same","currentDigest":"sha256:new","known":true,
                    "newDigest":"sha256:new"}],
       "compatibility":{"command":"./check.sh","healthUrl":null,"timeout":"10m","image":"reg/shop@sha256:old",
                        "known":true},
       "rollout":{"kind":"ecs","target":"shop-svc","detail":"service shop-svc is ACTIVE","ok":true},
       "steps":[{"step":"build","would":"build Dockerfile in ."},{"step":"promote","would":"move latest"}],
       "hooks":[{"hook":"post-release","command":"./notify.sh"}],
       "blockers":["databaseUrl (deploy.databaseUrl): a pooler","Refusing to migrate production: the lint found 1"],
       "unknown":["not resolved here: apiKey"]}
      """;

  /** No production reachable: no database URL, the registry not asked, migrations only the image knows. */
  static Plan minimal() {
    return new Plan(null, null, new Plan.Ci(null, null),
        List.of(new PlanGuard(Kind.BRANCH, Verdict.WARN, "the branch guard is off (deploy.branchGuard=false)"),
            new PlanGuard(Kind.COMMIT_ORDER, Verdict.UNKNOWN, "production not reachable")),
        new PlanImage("reg/shop:abc123", List.of("reg/shop:abc123"), "Dockerfile", ".", true, PlanImage.Action.UNKNOWN,
            null, "registry not reachable: refused"),
        PlanProduction.notRead(null, "databaseUrl is not set"),
        new PlanLock("shop", false, null, List.of()),
        new PlanMigrations("the migration command in the image", null, null, null),
        null,
        PlanDrift.notMade("production not read"),
        List.of(new PlanTagMove("latest", "reg/shop:latest", null, false, null)),
        null, null,
        List.of(new Plan.StepLine("build", "build Dockerfile in .")),
        List.of(), List.of(),
        List.of("registry not reachable: refused", "production not reachable: databaseUrl is not set"));
  }

  static final String MINIMAL = """
      {"schemaVersion":1,"sha":null,"service":null,
       "ci":{"system":null,"runUrl":null},
       "guards":[{"guard":"branch","verdict":"warn","detail":"the branch guard is off (deploy.branchGuard=false)"},
                 {"guard":"commit order","verdict":"unknown","detail":"production not reachable"}],
       "image":{"reference":"reg/shop:abc123","tags":["reg/shop:abc123"],"dockerfile":"Dockerfile",
                "context":".","forceBuild":true,"action":"unknown","digest":null,
                "registryProblem":"registry not reachable: refused"},
       "production":{"database":null,"reachable":false,"problem":"databaseUrl is not set"},
       "lock":{"name":"shop","known":false,"holder":null,"queue":[]},
       "migrations":{"source":"the migration command in the image","fingerprint":null,"list":null,"pending":null},
       "drift":{"checked":false,"version":null,"differences":null,"reason":"production not read"},
       "tagMoves":[{"tag":"latest","reference":"reg/shop:latest","currentDigest":null,"known":false,
                    "newDigest":null}],
       "compatibility":null,
       "rollout":null,
       "steps":[{"step":"build","would":"build Dockerfile in ."}],
       "hooks":[],
       "blockers":[],
       "unknown":["registry not reachable: refused","production not reachable: databaseUrl is not set"]}
      """;

  /**
   * Production known but not read, the set known from its files: pending unknown, the lint not run,
   * the image production runs not known, the rollout target not reachable.
   */
  static Plan notRead() {
    return new Plan("abc123", "shop", new Plan.Ci("GitHub Actions", null),
        List.of(new PlanGuard(Kind.BRANCH, Verdict.REFUSE, "Refusing to release from branch 'feature/x'")),
        new PlanImage("reg/shop:abc123", List.of("reg/shop:abc123"), "Dockerfile", ".", false, PlanImage.Action.BUILD,
            null, null),
        PlanProduction.notRead("postgresql://db:5432/shop", "Cannot connect"),
        new PlanLock("shop", true, null, List.of()),
        new PlanMigrations("Flyway migrations in classpath:db/migration", "f00d",
            List.of(new PlanMigrations.Migration("V1 init", "1", "init", null)), null),
        PlanLint.NOT_RUN,
        new PlanDrift(true, "1", List.of(), null),
        List.of(new PlanTagMove("latest", "reg/shop:latest", null, false, null)),
        new PlanCompatibility(null, "http://localhost:8080/health", "5m", null, false),
        new PlanRollout("app-runner", "shop-svc", "no credentials", false),
        List.of(), List.of(),
        List.of("Refusing to release from branch 'feature/x'"),
        List.of("production not reachable: Cannot connect", "rollout target: no credentials"));
  }

  /** {@code compact} as the plan's pretty printer writes it, fields in the same order. */
  private static String pretty(String compact) throws Exception {
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(JSON.readTree(compact));
  }

  @Test
  void json_whenEverySectionIsFilled_isTheSchemaVersion1DocumentFieldByField() throws Exception {
    assertThat(full().json()).isEqualTo(pretty(FULL));
    assertThat(full().render(Format.JSON)).containsExactly(pretty(FULL));
  }

  @Test
  void json_whenNoProductionIsReachable_writesItsNullsAndLeavesOutTheLint() throws Exception {
    assertThat(minimal().json()).isEqualTo(pretty(MINIMAL));
    assertThat(JSON.readTree(minimal().json()).has("lint")).isFalse();
  }

  @Test
  void json_whenTheLintDidNotRun_writesItAsNull() throws Exception {
    var lint = JSON.readTree(notRead().json()).get("lint");
    assertThat(lint).isNotNull();
    assertThat(lint.isNull()).isTrue();
  }

  @Test
  void blockersAndUnknowns_areTheDocumentsLines() {
    assertThat(full().blockers()).containsExactly("databaseUrl (deploy.databaseUrl): a pooler",
        "Refusing to migrate production: the lint found 1");
    assertThat(full().unknowns()).containsExactly("not resolved here: apiKey");
    assertThat(minimal().blockers()).isEmpty();
    assertThat(minimal().unknowns()).containsExactly("registry not reachable: refused",
        "production not reachable: databaseUrl is not set");
  }

  @Test
  void text_whenEverySectionIsFilled_saysWhatReleaseWouldDo() {
    assertThat(full().text()).containsExactly(
        "Plan for shop at commit abc123 (nothing was changed)",
        "  CI: GitHub Actions, https://github.com/o/r/actions/runs/7",
        "Guards:",
        "  branch        pass    branch 'main' (GITHUB_REF) is one of main, master",
        "  database TLS  warn    databaseUrl: no TLS",
        "  pooler        refuse  databaseUrl (deploy.databaseUrl): a pooler",
        "  commit order  pass    newer than release #40 of def (git ancestry)",
        "Image:",
        "  = reuse reg/shop:abc123 (sha256:new), already in the registry",
        "Migrations: Flyway migrations in classpath:db/migration (fingerprint f00d)",
        "    V1 init  (applied)",
        "  + V2 index  (pending)",
        "  1 migration pending on production",
        "Drift check (production against its migrations up to V1): 1 difference; functions not compared",
        "  ! view orders_open: production has it, the migrations do not",
        "Migration lint (pending migrations, against production's schema): 2 findings",
        "  ! V2 index (line 3): index-not-concurrent [fail]: CREATE INDEX on orders: it locks writes."
            + " Instead: CONCURRENTLY",
        "  ~ V2 index (line 5): add-column-default [warn]: ADD COLUMN x: old servers. Instead: two steps",
        "Production: postgresql://db:5432/shop (read, not changed)",
        "  release lock of shop: held by #41 (def, migrating); 2 waiting: #42, #43",
        "Promote:",
        "  ~ reg/shop:latest  sha256:old -> sha256:new",
        "  + reg/shop:stable  (none) -> sha256:new",
        "  = reg/shop:same  sha256:new -> sha256:new",
        "Compatibility check: run './check.sh' from reg/shop@sha256:old, what production runs now,"
            + " against the migrated throwaway database",
        "Rollout: shop-svc: service shop-svc is ACTIVE",
        "Steps release would run:",
        "  build: build Dockerfile in .",
        "  promote: move latest",
        "  hook post-release: ./notify.sh",
        "deploy:release would stop:",
        "  - databaseUrl (deploy.databaseUrl): a pooler",
        "  - Refusing to migrate production: the lint found 1",
        "Not checked:",
        "  - not resolved here: apiKey");
  }

  @Test
  void text_whenNoProductionIsReachable_saysWhatIsNotKnown() {
    assertThat(minimal().text()).containsExactly(
        "Plan for ? at commit ? (nothing was changed)",
        "  CI: none (a local run)",
        "Guards:",
        "  branch        warn    the branch guard is off (deploy.branchGuard=false)",
        "  commit order  unknown production not reachable",
        "Image:",
        "  ? build or reuse reg/shop:abc123: the registry was not asked",
        "Migrations: the migration command in the image",
        "  only the tool in the image knows them; it runs on a throwaway database first, then on production",
        "Drift check: not made: production not read",
        "Production: null — production not reachable: databaseUrl is not set",
        "  release lock of shop: not known",
        "Promote:",
        "  ~ reg/shop:latest  (unknown) -> (the digest of the build)",
        "Rollout: none (deploy.rollout)",
        "Steps release would run:",
        "  build: build Dockerfile in .",
        "Nothing found stops deploy:release; not checked:",
        "  - registry not reachable: refused",
        "  - production not reachable: databaseUrl is not set");
    assertThat(minimal().render(Format.TEXT)).isEqualTo(minimal().text());
  }

  @Test
  void text_whenProductionWasNotRead_marksWhatIsNotKnown() {
    assertThat(notRead().text()).containsExactly(
        "Plan for shop at commit abc123 (nothing was changed)",
        "  CI: GitHub Actions",
        "Guards:",
        "  branch        refuse  Refusing to release from branch 'feature/x'",
        "Image:",
        "  + build Dockerfile in . and push it as reg/shop:abc123",
        "Migrations: Flyway migrations in classpath:db/migration (fingerprint f00d)",
        "  ? V1 init",
        "  which are pending on production is not known",
        "Drift check (production against its migrations up to V1): no difference",
        "Production: postgresql://db:5432/shop — production not reachable: Cannot connect",
        "  release lock of shop: free; nobody waiting",
        "Promote:",
        "  ~ reg/shop:latest  (unknown) -> (the digest of the build)",
        "Compatibility check: the image production runs is not known",
        "Rollout: shop-svc: problem: no credentials",
        "Steps release would run:",
        "deploy:release would stop:",
        "  - Refusing to release from branch 'feature/x'",
        "Not checked:",
        "  - production not reachable: Cannot connect",
        "  - rollout target: no credentials");
  }
}
