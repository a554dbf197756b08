package dev.closedloop.deploy.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DatabaseTargetTest {

  private static final String SETTING = "databaseUrl (deploy.databaseUrl)";

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      jdbc:postgresql://db.example.com:5432/shop?sslmode=require                          | jdbc:postgresql://db.example.com:5432/shop?sslmode=require | -    | -
      jdbc:postgresql://db.example.com/shop?user=app&password=s3cret&sslmode=require      | jdbc:postgresql://db.example.com/shop?sslmode=require      | app  | s3cret
      postgres://app:s3cret@db.example.com:5432/shop                                      | jdbc:postgresql://db.example.com:5432/shop                 | app  | s3cret
      postgresql://user:p%40ss@host:5432/db?sslmode=require                               | jdbc:postgresql://host:5432/db?sslmode=require             | user | p@ss
      postgresql://user:p%40ss%3Aw%2Frd@host:5432/db?sslmode=require                      | jdbc:postgresql://host:5432/db?sslmode=require             | user | p@ss:w/rd
      postgres://user:p@ss:w@host/db                                                      | jdbc:postgresql://host/db                                  | user | p@ss:w
      postgres://user:a+b@host/db                                                         | jdbc:postgresql://host/db                                  | user | a+b
      postgres://host/db?user=u&password=p%2Fq&connect_timeout=5&application_name=shop    | jdbc:postgresql://host/db?connectTimeout=5&ApplicationName=shop | u | p/q
      postgres://u@[::1]:6000/db                                                          | jdbc:postgresql://[::1]:6000/db                            | u    | -
      postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write                     | jdbc:postgresql://h1:5432,h2:5433/db?targetServerType=primary | u | -
      host=::1 port=6000 dbname=db user=u                                                 | jdbc:postgresql://[::1]:6000/db                            | u    | -
      host=a,b port=5432,5433 dbname=db target_session_attrs=prefer-standby               | jdbc:postgresql://a:5432,b:5433/db?targetServerType=preferSecondary | - | -
      host=a,b port=5433 dbname=db                                                        | jdbc:postgresql://a:5433,b:5433/db?targetServerType=primary | -    | -
      postgres://u:pw@h/db?application_name=a@b&options=-c%20search_path%3Dx              | jdbc:postgresql://h/db?ApplicationName=a@b&options=-c search_path=x | u | pw
      jdbc:postgresql://h/db?user=app&password=p%40ss%2Bw+x&sslmode=require               | jdbc:postgresql://h/db?sslmode=require                     | app  | p@ss+w x
      postgres://h/db?application_name=my%20app                                           | jdbc:postgresql://h/db?ApplicationName=my app              | -    | -
      postgresql:///db                                                                    | jdbc:postgresql://localhost/db                             | -    | -
      host=db.example.com port=5432 user=app password=s3cret dbname=shop sslmode=require  | jdbc:postgresql://db.example.com:5432/shop?sslmode=require | app  | s3cret
      host=h dbname=shop user=app password='it''s \\' quoted'                              | jdbc:postgresql://h/shop                                   | app  | it's ' quoted
      host=h dbname=shop password='p@ss:w/rd with space'                                  | jdbc:postgresql://h/shop                                   | -    | p@ss:w/rd with space
      dbname = shop   user = app                                                          | jdbc:postgresql://localhost/shop                           | app  | -
      """)
  void parse_acceptsJdbcUriAndKeyValueForms(String raw, String jdbcUrl, String user, String password) {
    DatabaseTarget target = DatabaseTarget.parse(raw.replace("''", "\\'"), null, null, SETTING);

    // the URL holds hosts and database; every parameter goes to the driver as a property, decoded
    StringBuilder properties = new StringBuilder();
    target.properties().forEach((name, value) -> properties.append(properties.length() == 0 ? "?" : "&")
        .append(name).append('=').append(value));
    assertThat(target.jdbcUrl() + properties).isEqualTo(jdbcUrl);
    assertThat(target.driverProperties()).containsAllEntriesOf(target.properties());
    assertThat(target.user()).isEqualTo(user);
    assertThat(target.password()).isEqualTo(password);
  }

  @Test
  void isLoopback_onlyWhenEveryHostIsThisMachine() {
    assertThat(DatabaseTarget.parse("host=127.0.0.1,::1 dbname=db", null, null, SETTING).isLoopback()).isTrue();
    DatabaseTarget mixed = DatabaseTarget.parse("host=127.0.0.1,db.example.com dbname=db", null, null, SETTING);
    assertThat(mixed.isLoopback()).isFalse();
    assertThat(mixed.tlsProblem()).isPresent();
    assertThatThrownBy(() -> DatabaseTarget.parse("host=a,b,c port=1,2 dbname=db", null, null, SETTING))
        .hasMessage(SETTING + " names 3 hosts but 2 ports: give one port, or one for each host");
  }

  @Test
  void parse_explicitCredentialsWinOverTheString() {
    DatabaseTarget target = DatabaseTarget.parse("postgres://a:b@h/db", "ci", "from-secret-store", SETTING);

    assertThat(target.user()).isEqualTo("ci");
    assertThat(target.password()).isEqualTo("from-secret-store");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', textBlock = """
      mysql://h/db                     | is not a database URL
      jdbc:mysql://h/db                | unsupported JDBC URL 'jdbc:mysql://h/db'
      postgres://u:100%@h/db           | encode '%' itself as %25
      host=h dbname                    | the word at character 8 has no '='
      host=h password='open            | the quoted value of password is not closed
      host=/var/run/postgresql dbname=x | names a unix socket
      """)
  void parse_whenMalformed_saysWhatToWrite_andNeverShowsThePassword(String raw, String message) {
    assertThatThrownBy(() -> DatabaseTarget.parse(raw, null, null, SETTING))
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
          assertThat(e.getMessage()).startsWith(SETTING).contains(message);
        });
  }

  @Test
  void toString_andErrors_neverShowThePassword() {
    assertThat(DatabaseTarget.parse("postgres://app:hunter2@h/db", null, null, SETTING).toString())
        .isEqualTo("jdbc:postgresql://h/db as app");
    assertThat(DatabaseTarget.parse("jdbc:postgresql://h/db?password=hunter2&user=app", null, null, SETTING).toString())
        .doesNotContain("hunter2");
    assertThatThrownBy(() -> DatabaseTarget.of("jdbc:mysql://h/db?password=hunter2", null, null))
        .hasMessageNotContaining("hunter2");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', textBlock = """
      postgres://db.example.com/shop                      | sslmode=prefer
      postgres://db.example.com/shop?sslmode=disable      | sslmode=disable
      postgres://db.example.com/shop?sslmode=allow        | sslmode=allow
      host=db.example.com dbname=shop sslmode=prefer      | sslmode=prefer
      """)
  void tlsProblem_forARemoteHostThatMayFallBackToPlainText(String raw, String mode) {
    assertThat(DatabaseTarget.parse(raw, null, null, SETTING).tlsProblem()).hasValue(
        "the connection to db.example.com does not require TLS (" + mode
            + "): add sslmode=require (or verify-full) to the URL");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource({
      "postgres://db.example.com/shop?sslmode=require",
      "postgres://db.example.com/shop?sslmode=verify-full",
      "postgres://localhost/shop",
      "postgres://127.0.0.1:5432/shop?sslmode=disable"})
  void tlsProblem_noneWhenTlsIsRequiredOrTheHostIsLocal(String raw) {
    assertThat(DatabaseTarget.parse(raw, null, null, SETTING).tlsProblem()).isEmpty();
  }

  @Test
  void poolerProblem_recognisesSupabasesTransactionModePort() {
    DatabaseTarget pooler = DatabaseTarget.parse(
        "postgres://postgres.abcd:pw@aws-0-us-west-1.pooler.supabase.com:6543/postgres", null, null, SETTING);
    DatabaseTarget session = DatabaseTarget.parse(
        "postgres://postgres.abcd:pw@aws-0-us-west-1.pooler.supabase.com:5432/postgres", null, null, SETTING);

    assertThat(pooler.poolerProblem()).hasValueSatisfying(problem -> assertThat(problem)
        .startsWith("aws-0-us-west-1.pooler.supabase.com:6543 is a transaction-mode pooler")
        .endsWith("use the session-mode pooler (port 5432) or the direct connection string"
            + " (db.<project>.supabase.co:5432)"));
    assertThat(session.poolerProblem()).isEmpty();
    assertThat(pooler.host()).isEqualTo("aws-0-us-west-1.pooler.supabase.com");
    assertThat(pooler.port()).isEqualTo(6543);
    assertThat(pooler.database()).isEqualTo("postgres");
  }
}
