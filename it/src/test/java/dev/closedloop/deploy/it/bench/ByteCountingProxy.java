package dev.closedloop.deploy.it.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/** A loopback TCP relay in front of a server that counts the bytes each way: what a client sent over the wire. */
final class ByteCountingProxy implements AutoCloseable {

  final AtomicLong sent = new AtomicLong();
  final AtomicLong received = new AtomicLong();
  private final ServerSocket server;
  private final String targetHost;
  private final int targetPort;

  ByteCountingProxy(String target) throws IOException {
    this.targetHost = target.substring(0, target.indexOf(':'));
    this.targetPort = Integer.parseInt(target.substring(target.indexOf(':') + 1));
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptLoop, "proxy-accept");
    accept.setDaemon(true);
    accept.start();
  }

  /** host:port to give clients instead of the server's. */
  String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  void reset() {
    sent.set(0);
    received.set(0);
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(targetHost, targetPort);
        pump(client, upstream, sent);
        pump(upstream, client, received);
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private static void pump(Socket from, Socket to, AtomicLong counter) {
    Thread thread = new Thread(() -> {
      byte[] buffer = new byte[64 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          out.write(buffer, 0, n);
          counter.addAndGet(n);
        }
      } catch (IOException e) {
        // the other side closed
      } finally {
        try {
          to.shutdownOutput();
        } catch (IOException ignored) {
          // already closed
        }
      }
    }, "proxy-pump");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
