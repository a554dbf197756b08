package dev.closedloop.deploy.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DockerEngineTest {

  @Test
  void anEngineError_asDockerJavaPassesItOn_isTheEnginesOwnMessage() {
    RuntimeException pull = new RuntimeException("wrapped", new RuntimeException("Status 500: {\"message\":\"Get"
        + " \\\"http://127.0.0.1:1/v2/\\\": dial tcp 127.0.0.1:1: connect: connection refused\"}\n"));

    assertThat(DockerEngine.rootMessage(pull)).isEqualTo("Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1:"
        + " connect: connection refused (HTTP 500 from the engine)");
  }

  @Test
  void anyOtherMessage_staysAsItIs_andNoMessageIsTheTypesName() {
    assertThat(DockerEngine.rootMessage(new IllegalStateException("Status 404: not json"))).isEqualTo("Status 404:"
        + " not json");
    assertThat(DockerEngine.rootMessage(new java.net.ConnectException())).isEqualTo("ConnectException");
  }
}
