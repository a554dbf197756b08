package dev.closedloop.deploy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** HTTPS_PROXY, HTTP_PROXY and NO_PROXY read as curl reads them; loopback is never proxied. */
class ProxiesTest {

  private static String via(Proxies proxies, String uri) {
    List<Proxy> chosen = proxies.select(URI.create(uri));
    Proxy proxy = chosen.get(0);
    return proxy.type() == Proxy.Type.DIRECT ? "direct"
        : ((InetSocketAddress) proxy.address()).getHostString() + ":" + ((InetSocketAddress) proxy.address()).getPort();
  }

  @Test
  void eachSchemeItsOwnProxy_noProxyByHostDomainAndPort_loopbackAlwaysDirect() {
    Proxies proxies = Proxies.of(Map.of("HTTPS_PROXY", "http://proxy.corp:3128", "http_proxy", "plain.corp:8080",
        "NO_PROXY", "internal.corp, .svc.local,registry.lab:5000"));

    assertThat(via(proxies, "https://registry-1.docker.io/v2/")).isEqualTo("proxy.corp:3128");
    assertThat(via(proxies, "http://registry.example.com/v2/")).isEqualTo("plain.corp:8080");
    assertThat(via(proxies, "https://internal.corp/v2/")).isEqualTo("direct");
    assertThat(via(proxies, "https://git.internal.corp/v2/")).isEqualTo("direct");
    assertThat(via(proxies, "https://notinternal.corp/v2/")).isEqualTo("proxy.corp:3128");
    assertThat(via(proxies, "https://registry.svc.local/v2/")).isEqualTo("direct");
    assertThat(via(proxies, "http://registry.lab:5000/v2/")).isEqualTo("direct");
    assertThat(via(proxies, "http://registry.lab:5001/v2/")).isEqualTo("plain.corp:8080");
    assertThat(via(proxies, "http://127.0.0.1:5000/v2/")).isEqualTo("direct");
    assertThat(via(proxies, "http://localhost:5000/v2/")).isEqualTo("direct");
  }

  @Test
  void noVariables_orAStar_meansDirect() {
    assertThat(via(Proxies.of(Map.of()), "https://registry-1.docker.io/v2/")).isEqualTo("direct");
    assertThat(via(Proxies.of(Map.of("HTTPS_PROXY", "http://proxy.corp:3128", "no_proxy", "*")),
        "https://registry-1.docker.io/v2/")).isEqualTo("direct");
    // curl does not send https through HTTP_PROXY
    assertThat(via(Proxies.of(Map.of("HTTP_PROXY", "http://proxy.corp:3128")), "https://ghcr.io/v2/"))
        .isEqualTo("direct");
  }
}
