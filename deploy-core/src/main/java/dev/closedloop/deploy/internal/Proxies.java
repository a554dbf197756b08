package dev.closedloop.deploy.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The HTTP proxy for a URI, as CI runners and corporate networks set it: Java's proxy system
 * properties ({@code https.proxyHost}, {@code http.proxyHost}, {@code http.nonProxyHosts}; the
 * Maven plugin sets them from settings.xml's active proxy), else the standard variables
 * {@code HTTPS_PROXY}, {@code HTTP_PROXY} and {@code NO_PROXY} (either case). Loopback is always
 * reached directly.
 */
public final class Proxies extends ProxySelector {

  private static final List<Proxy> DIRECT = List.of(Proxy.NO_PROXY);

  private final ProxySelector system;
  private final Proxy https;
  private final Proxy http;
  private final List<String> noProxy;

  private Proxies(ProxySelector system, Proxy https, Proxy http, List<String> noProxy) {
    this.system = system;
    this.https = https;
    this.http = http;
    this.noProxy = noProxy;
  }

  /** The proxies of these variables, behind the JVM's own configuration. */
  public static Proxies of(Map<String, String> env) {
    String https = variable(env, "HTTPS_PROXY");
    String http = variable(env, "HTTP_PROXY");
    List<String> noProxy = new ArrayList<>();
    String none = variable(env, "NO_PROXY");
    if (none != null) {
      for (String entry : none.split(",")) {
        if (!entry.isBlank()) {
          noProxy.add(entry.trim().toLowerCase(Locale.ROOT));
        }
      }
    }
    return new Proxies(ProxySelector.getDefault(), proxy(https), proxy(http), noProxy); // as curl: one per scheme
  }

  private static String variable(Map<String, String> env, String name) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      value = env.get(name.toLowerCase(Locale.ROOT));
    }
    return value == null || value.isBlank() ? null : value.trim();
  }

  /** {@code http://host:port} (the scheme may be left out); null for none or one that cannot be read. */
  private static Proxy proxy(String value) {
    if (value == null) {
      return null;
    }
    try {
      URI uri = URI.create(value.contains("://") ? value : "http://" + value);
      if (uri.getHost() == null) {
        return null;
      }
      int port = uri.getPort() > 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
      return new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(uri.getHost(), port));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  @Override
  public List<Proxy> select(URI uri) {
    String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
    if (Loopback.isLoopback(host)) {
      return DIRECT;
    }
    if (system != null) {
      List<Proxy> configured = system.select(uri);
      if (configured != null && configured.stream().anyMatch(p -> p.type() != Proxy.Type.DIRECT)) {
        return configured;
      }
    }
    Proxy proxy = "https".equalsIgnoreCase(uri.getScheme()) ? https : http;
    if (proxy == null || bypassed(host, uri.getPort())) {
      return DIRECT;
    }
    return List.of(proxy);
  }

  /** NO_PROXY as curl reads it: {@code *}, a host and its subdomains, {@code .domain}, or {@code host:port}. */
  private boolean bypassed(String host, int port) {
    for (String entry : noProxy) {
      if (entry.equals("*")) {
        return true;
      }
      String name = entry;
      int colon = entry.lastIndexOf(':');
      if (colon > 0 && !entry.contains("]") && entry.indexOf(':') == colon) {
        if (!entry.substring(colon + 1).equals(String.valueOf(port))) {
          continue;
        }
        name = entry.substring(0, colon);
      }
      name = name.startsWith("*.") ? name.substring(1) : name;
      String bare = name.startsWith(".") ? name.substring(1) : name;
      if (host.equals(bare) || host.endsWith("." + bare)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void connectFailed(URI uri, SocketAddress address, IOException e) {
    // nothing to learn: the request fails with its own error
  }
}
