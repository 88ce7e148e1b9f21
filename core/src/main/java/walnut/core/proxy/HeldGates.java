package walnut.core.proxy;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@link ReadGate}s one holder keeps paused: the senders a full backend connection stopped
 * reading, each held once and all resumed together. Confined to the holder's event loop.
 */
final class HeldGates {

  private final Object holder;
  private final List<ReadGate> gates = new ArrayList<>();

  HeldGates(Object holder) {
    this.holder = holder;
  }

  /** Pauses {@code gate}'s reading, unless this holder holds it already. */
  void hold(ReadGate gate) {
    if (!gates.contains(gate)) {
      gates.add(gate);
      gate.pauseReading(holder);
    }
  }

  /** Resumes every gate held, in the order they were held. */
  void releaseAll() {
    if (gates.isEmpty()) {
      return;
    }
    ReadGate[] released = gates.toArray(new ReadGate[0]);
    gates.clear();
    for (ReadGate gate : released) {
      gate.resumeReading(holder);
    }
  }
}
