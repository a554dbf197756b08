package dev.closedloop.deploy.internal.aws;

import java.util.Set;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

/** Why an AWS call failed, in words a user can act on. */
public final class AwsFailures {

  private static final Set<String> REJECTED_CREDENTIALS = Set.of("UnrecognizedClientException", "InvalidClientTokenId",
      "InvalidSignatureException", "ExpiredTokenException", "SignatureDoesNotMatch", "IncompleteSignatureException");

  private AwsFailures() {}

  /** The service's error code, or "" when the call never got an answer. */
  public static String code(SdkException e) {
    return e instanceof AwsServiceException service && service.awsErrorDetails() != null
        && service.awsErrorDetails().errorCode() != null ? service.awsErrorDetails().errorCode() : "";
  }

  /**
   * One line on why the call failed.
   *
   * @param permission what the credentials must be allowed, e.g. {@code ssm:GetParameter on it}
   */
  public static String why(SdkException e, String permission) {
    String code = code(e);
    if (REJECTED_CREDENTIALS.contains(code)) {
      return "AWS rejected the credentials (" + code + "): check the role or keys this build runs with";
    }
    if (code.equals("AccessDeniedException") || code.equals("AccessDenied")) {
      return "these AWS credentials are not allowed this call: allow " + permission;
    }
    if (e instanceof AwsServiceException service) {
      String message = service.awsErrorDetails() != null ? service.awsErrorDetails().errorMessage() : null;
      return "AWS answered " + (code.isEmpty() ? "an error" : code) + " (" + service.statusCode() + ")"
          + (message != null && !message.isBlank() ? ": " + firstLine(message) : "");
    }
    if (e instanceof SdkClientException && String.valueOf(e.getMessage()).startsWith("Unable to load credentials")) {
      return "found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE),"
          + " or a role (web identity as GitHub Actions OIDC gives it, a container or an instance role)";
    }
    if (e instanceof SdkClientException) {
      return firstLine(e.getMessage()) + ". Check the AWS credentials of this build, deploy.awsRegion and"
          + " deploy.awsEndpoint";
    }
    return firstLine(e.getMessage());
  }

  static String firstLine(String text) {
    if (text == null) {
      return "no reason given";
    }
    int newline = text.indexOf('\n');
    return (newline >= 0 ? text.substring(0, newline) : text).trim();
  }
}
