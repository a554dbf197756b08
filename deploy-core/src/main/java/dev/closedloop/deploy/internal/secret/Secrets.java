package dev.closedloop.deploy.internal.secret;

import dev.closedloop.deploy.secret.Redactor;
import java.util.List;
import java.util.function.Consumer;

/**
 * The secrets a load or a run knows so far, growing as they are resolved or fetched (ECR's push
 * token, a password's percent-encoded spelling): the redactor for all of them, and who is told of
 * each new one. Safe to use from several threads.
 */
public final class Secrets {

  private volatile Redactor redactor;
  private Consumer<String> onAdd;

  public Secrets() {
    this(Redactor.none());
  }

  /** Starting from what {@code known} masks: a run starts from its configuration's secrets. */
  public Secrets(Redactor known) {
    this.redactor = known;
  }

  /** Masks {@code secret} from now on; a value too short to be a secret, or null, is ignored. */
  public void add(String secret) {
    Consumer<String> tell;
    synchronized (this) {
      Redactor more = redactor.with(secret);
      if (more == redactor) {
        return;
      }
      redactor = more;
      tell = onAdd;
    }
    if (tell != null) {
      tell.accept(secret);
    }
  }

  /** A redactor for every secret known now. */
  public Redactor redactor() {
    return redactor;
  }

  public String redact(String text) {
    return redactor.redact(text);
  }

  /**
   * Tells {@code consumer} every secret known so far, then each one as it is added (a registry
   * token fetched in the middle of a build, say): for a CI system that masks secrets.
   */
  public void onAdd(Consumer<String> consumer) {
    List<String> known;
    synchronized (this) {
      onAdd = consumer;
      known = redactor.secrets();
    }
    known.forEach(consumer);
  }
}
