package dev.closedloop.deploy.it;

import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;

/** Remembers where the database it started was, to prove it is gone afterwards. */
final class RecordingDatabase implements EphemeralDatabase {
  private final EphemeralDatabase delegate;
  volatile DatabaseTarget target;

  RecordingDatabase(EphemeralDatabase delegate) {
    this.delegate = delegate;
  }

  @Override
  public Instance start(ReleaseListener events) {
    Instance instance = delegate.start(events);
    target = instance.target();
    return instance;
  }

  @Override
  public String describe() {
    return delegate.describe();
  }
}
