package walnut.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * Marks an integration test that runs once, on the default transport, instead of once per
 * transport. The server module runs its integration tests on nio, then again on epoll and on
 * io_uring leaving out the tests tagged {@value #TAG}; so a new test runs on every transport
 * unless it says otherwise here.
 *
 * <p>For tests that gain nothing from another transport: ones that start the packaged
 * {@code bin/walnut}, which picks its transport itself; {@code TransportIT}, which covers each
 * transport on its own; and ones left on one transport to keep the build short.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@Tag(SingleTransport.TAG)
public @interface SingleTransport {

  /** The JUnit tag, as the failsafe executions name it in {@code excludedGroups}. */
  String TAG = "single-transport";
}
