package dev.closedloop.deploy.database;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MigrationSetTest {

  private static final MigrationSet.Migration V1 = new MigrationSet.Migration("1", "create users", "V1__create_users.sql", 11);
  private static final MigrationSet.Migration V2 = new MigrationSet.Migration("2", "add index", "V2__add_index.sql", 22);

  @Test
  void fingerprint_isStableForTheSameFiles_andChangesWithAnyChecksumOrOrder() {
    String fingerprint = MigrationSet.of(List.of(V1, V2)).fingerprint();

    assertThat(fingerprint).startsWith("sha256:").hasSize(7 + 64);
    assertThat(MigrationSet.of(List.of(V1, V2)).fingerprint()).isEqualTo(fingerprint);
    assertThat(MigrationSet.of(List.of(V2, V1)).fingerprint()).isNotEqualTo(fingerprint);
    assertThat(MigrationSet.of(List.of(V1, new MigrationSet.Migration("2", "add index", "V2__add_index.sql", 23)))
        .fingerprint()).isNotEqualTo(fingerprint);
    assertThat(MigrationSet.of(List.of(V1)).fingerprint()).isNotEqualTo(fingerprint);
  }

  @Test
  void latestVersion_skipsRepeatableMigrations() {
    MigrationSet set = MigrationSet.of(List.of(V1, V2, new MigrationSet.Migration(null, "views", "R__views.sql", 3)));

    assertThat(set.latestVersion()).isEqualTo("2");
  }
}
