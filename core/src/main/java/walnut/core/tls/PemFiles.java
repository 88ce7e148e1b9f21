package walnut.core.tls;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Certificates and private keys from PEM text, as operators' tools write them: certificate chains
 * and CA bundles, and unencrypted keys in PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1
 * ({@code BEGIN RSA PRIVATE KEY}, openssl's and cert-manager's RSA default) or SEC1
 * ({@code BEGIN EC PRIVATE KEY}). The JDK reads only PKCS#8, and Netty reads the other two only
 * with BouncyCastle on the class path: a PKCS#1 or SEC1 key is wrapped in the PKCS#8 structure
 * here, which is a fixed DER prefix around the same bytes.
 *
 * <p>Neither TLS engine notices a key that does not belong to its certificate until a handshake
 * fails, so {@link #checkPair} signs with the key and verifies with the certificate. Errors are
 * {@link IllegalArgumentException}s whose message says what is wrong with which file.
 */
public final class PemFiles {

  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----\\r?\\n(.*?)-----END \\1-----", Pattern.DOTALL);
  /** AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
  private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48,
      (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
  /** The OID id-ecPublicKey (1.2.840.10045.2.1), DER-encoded. */
  private static final byte[] EC_PUBLIC_KEY = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce,
      0x3d, 0x02, 0x01};

  private PemFiles() {}

  /** Every certificate in {@code pem}, in file order; at least one. */
  public static List<X509Certificate> certificates(byte[] pem, String file) {
    List<X509Certificate> certificates = new ArrayList<>();
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (Block block : blocks(pem)) {
        if (block.type.equals("CERTIFICATE") || block.type.equals("TRUSTED CERTIFICATE")) {
          certificates.add((X509Certificate) factory.generateCertificate(
              new ByteArrayInputStream(block.der(file))));
        }
      }
    } catch (CertificateException e) {
      throw new IllegalArgumentException(file + ": not a valid certificate: " + e.getMessage(), e);
    }
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(file + ": no PEM certificate in it"
          + " (expected -----BEGIN CERTIFICATE-----)");
    }
    return certificates;
  }

  /** The one private key in {@code pem}. */
  public static PrivateKey privateKey(byte[] pem, String file) {
    byte[] pkcs8 = null;
    for (Block block : blocks(pem)) {
      byte[] found = switch (block.type) {
        case "PRIVATE KEY" -> block.der(file);
        case "RSA PRIVATE KEY" -> {
          block.refuseEncrypted(file);
          yield pkcs8(RSA_ALGORITHM, block.der(file));
        }
        case "EC PRIVATE KEY" -> {
          block.refuseEncrypted(file);
          byte[] sec1 = block.der(file);
          yield pkcs8(ecAlgorithm(sec1, file), sec1);
        }
        case "ENCRYPTED PRIVATE KEY" -> throw new IllegalArgumentException(file
            + ": the private key is encrypted; Walnut reads unencrypted keys only"
            + " (openssl pkcs8 -topk8 -nocrypt -in KEY)");
        default -> null;
      };
      if (found != null) {
        if (pkcs8 != null) {
          throw new IllegalArgumentException(file + ": more than one private key in it");
        }
        pkcs8 = found;
      }
    }
    if (pkcs8 == null) {
      throw new IllegalArgumentException(file + ": no PEM private key in it (expected -----BEGIN"
          + " PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)");
    }
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(pkcs8);
    for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException | RuntimeException e) {
        // the next algorithm
      }
    }
    throw new IllegalArgumentException(file + ": not a valid RSA, EC or EdDSA private key");
  }

  /**
   * Refuses {@code key} unless it is the private key of {@code certificate}'s public key:
   * something signed with one must verify with the other.
   */
  public static void checkPair(PrivateKey key, X509Certificate certificate, String keyFile,
      String certFile) {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
      default -> null;
    };
    if (algorithm == null) {
      throw new IllegalArgumentException(keyFile + ": a " + key.getAlgorithm()
          + " key cannot be checked against its certificate (use an RSA, EC or EdDSA key)");
    }
    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    boolean matches;
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(nonce);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(nonce);
      matches = verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      matches = false; // another key type than the certificate's
    }
    if (!matches) {
      throw new IllegalArgumentException(keyFile + ": the private key does not belong to the"
          + " certificate in " + certFile + " (" + certificate.getSubjectX500Principal() + ")");
    }
  }

  /** PKCS#8's PrivateKeyInfo: version 0, {@code algorithm}, and {@code key} as an octet string. */
  private static byte[] pkcs8(byte[] algorithm, byte[] key) {
    byte[] version = {0x02, 0x01, 0x00};
    byte[] octets = tlv(0x04, key);
    byte[] body = new byte[version.length + algorithm.length + octets.length];
    System.arraycopy(version, 0, body, 0, version.length);
    System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
    System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
    return tlv(0x30, body);
  }

  /**
   * The AlgorithmIdentifier of a SEC1 EC key: id-ecPublicKey with the named curve the key's
   * {@code [0]} parameters name (SEC1 ECPrivateKey: SEQUENCE {version, privateKey, [0] curve,
   * [1] publicKey}).
   */
  private static byte[] ecAlgorithm(byte[] sec1, String file) {
    Der outer = new Der(sec1, 0);
    if (outer.tag != 0x30) {
      throw new IllegalArgumentException(file + ": not a SEC1 EC private key");
    }
    int at = outer.contentStart;
    while (at < outer.end) {
      Der field = new Der(sec1, at);
      if (field.tag == 0xa0) {
        Der curve = new Der(sec1, field.contentStart);
        if (curve.tag != 0x06) {
          break;
        }
        byte[] oid = java.util.Arrays.copyOfRange(sec1, field.contentStart, curve.end);
        byte[] body = new byte[EC_PUBLIC_KEY.length + oid.length];
        System.arraycopy(EC_PUBLIC_KEY, 0, body, 0, EC_PUBLIC_KEY.length);
        System.arraycopy(oid, 0, body, EC_PUBLIC_KEY.length, oid.length);
        return tlv(0x30, body);
      }
      at = field.end;
    }
    throw new IllegalArgumentException(file + ": the EC private key does not name its curve"
        + " (convert it: openssl pkcs8 -topk8 -nocrypt -in KEY)");
  }

  private static byte[] tlv(int tag, byte[] content) {
    int n = content.length;
    byte[] length = n < 0x80 ? new byte[] {(byte) n}
        : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
        : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
        : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
    byte[] out = new byte[1 + length.length + n];
    out[0] = (byte) tag;
    System.arraycopy(length, 0, out, 1, length.length);
    System.arraycopy(content, 0, out, 1 + length.length, n);
    return out;
  }

  /** One DER element at {@code at}: its tag, where its content starts and where it ends. */
  private static final class Der {
    final int tag;
    final int contentStart;
    final int end;

    Der(byte[] der, int at) {
      if (at + 2 > der.length) {
        throw new IllegalArgumentException("truncated DER");
      }
      tag = der[at] & 0xff;
      int length = der[at + 1] & 0xff;
      int start = at + 2;
      if (length >= 0x80) {
        int bytes = length & 0x7f;
        if (bytes == 0 || bytes > 3 || start + bytes > der.length) {
          throw new IllegalArgumentException("bad DER length");
        }
        length = 0;
        for (int i = 0; i < bytes; i++) {
          length = (length << 8) | (der[start + i] & 0xff);
        }
        start += bytes;
      }
      if (start + length > der.length) {
        throw new IllegalArgumentException("truncated DER");
      }
      contentStart = start;
      end = start + length;
    }
  }

  private static List<Block> blocks(byte[] pem) {
    List<Block> blocks = new ArrayList<>();
    Matcher m = BLOCK.matcher(new String(pem, StandardCharsets.US_ASCII));
    while (m.find()) {
      blocks.add(new Block(m.group(1), m.group(2)));
    }
    return blocks;
  }

  /** One PEM block: its type and its text (headers, then base64). */
  private record Block(String type, String text) {
    byte[] der(String file) {
      StringBuilder base64 = new StringBuilder();
      for (String line : text.split("\\r?\\n")) {
        if (!line.contains(":")) {
          base64.append(line.trim());
        }
      }
      try {
        return Base64.getDecoder().decode(base64.toString());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(file + ": the " + type + " block is not valid base64",
            e);
      }
    }

    void refuseEncrypted(String file) {
      if (text.contains("Proc-Type: 4,ENCRYPTED")) {
        throw new IllegalArgumentException(file + ": the private key is encrypted; Walnut reads"
            + " unencrypted keys only (openssl pkcs8 -topk8 -nocrypt -in KEY)");
      }
    }
  }
}
