package walnut.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;

/**
 * One round of a {@link SentinelWatch}'s questions: which sentinels (by their place in the pool's
 * list) were asked, which have given their last answer, and what they said, per server.
 * Confined to the watch's event loop.
 */
final class SentinelRound {

  /** Per server: the usable answers so far. */
  final List<List<MasterAnswer>> answers = new ArrayList<>();
  final boolean[] asked;
  /** Per sentinel: it gave this round's last answer, or its connection closed, or time ran out. */
  final boolean[] done;
  /** Per sentinel: it answered an error that is no answer (NOAUTH, NOPERM, ...). */
  final boolean[] refused;
  /** Per sentinel: an answer of its could be used (an address, or "no such master"). */
  final boolean[] usable;
  /** Sentinels that still owe their last answer. */
  int owing;
  /** Sentinels that answered usably. */
  int answered;
  ScheduledFuture<?> timer;

  SentinelRound(int sentinels, int servers, List<Integer> ready) {
    this.asked = new boolean[sentinels];
    this.done = new boolean[sentinels];
    this.refused = new boolean[sentinels];
    this.usable = new boolean[sentinels];
    ready.forEach(i -> asked[i] = true);
    this.owing = ready.size();
    for (int i = 0; i < servers; i++) {
      answers.add(new ArrayList<>());
    }
  }
}
