package dev.closedloop.deploy.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Whether a host is this machine, decided from the parsed address and never by a prefix of its
 * name ({@code 127.0.0.1.nip.io} is somebody else's). Names other than {@code localhost} are not
 * looked up: what a name resolves to can change between the check and the use.
 */
public final class Loopback {

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private Loopback() {}

  /** @param host a name, an IPv4 address, or an IPv6 address with or without brackets */
  public static boolean isLoopback(String host) {
    if (host == null || host.isBlank()) {
      return false;
    }
    String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (bare.toLowerCase(Locale.ROOT).equals("localhost")) {
      return true;
    }
    if (!IPV4.matcher(bare).matches() && !bare.contains(":")) {
      return false; // a name: not this machine by our word, whatever it resolves to
    }
    try {
      return InetAddress.getByName(bare).isLoopbackAddress(); // a literal: parsed, not looked up
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
