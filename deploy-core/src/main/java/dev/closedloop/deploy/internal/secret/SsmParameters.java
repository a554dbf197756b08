package dev.closedloop.deploy.internal.secret;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.internal.aws.AwsFailures;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.ssm.SsmClient;
import software.amazon.awssdk.services.ssm.model.ParameterNotFoundException;
import software.amazon.awssdk.services.ssm.model.SsmException;

/**
 * Reads AWS SSM Parameter Store parameters ({@code ssm:/path/name}), SecureStrings decrypted.
 * Every failure is one line naming the reference and the region, never a value.
 */
final class SsmParameters implements AutoCloseable {

  private final SsmClient ssm;
  private final String region;

  private SsmParameters(SsmClient ssm, String region) {
    this.ssm = ssm;
    this.region = region;
  }

  static SsmParameters connect(AwsSettings aws) {
    String region = aws.regionFor(null).id();
    return new SsmParameters(aws.client(SsmClient.builder(), region), region);
  }

  /**
   * @param name the parameter's name, e.g. {@code /shop/database-url}
   * @param setting the setting that names it, for messages
   */
  String get(String name, String setting) {
    String reference = "ssm:" + name;
    try {
      String value = ssm.getParameter(get -> get.name(name).withDecryption(true)).parameter().value();
      if (value == null || value.isBlank()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names " + reference + " in " + region
            + ", which is empty: put the value there, or change " + setting);
      }
      return value;
    } catch (ParameterNotFoundException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names " + reference + ", which does"
          + " not exist in " + region + ": create it (aws ssm put-parameter --type SecureString), correct the name,"
          + " or set deploy.awsRegion to the region that holds it", e);
    } catch (SsmException e) {
      if ("ValidationException".equals(AwsFailures.code(e))) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names " + reference + ", which is"
            + " not a valid parameter name (" + e.awsErrorDetails().errorMessage() + ")", e);
      }
      throw new DeployException(DeployException.Kind.AWS, "Cannot read " + reference + " (" + setting + ") in " + region
          + ": " + AwsFailures.why(e, "ssm:GetParameter on it (and kms:Decrypt for a SecureString's key)"), e);
    } catch (SdkException e) {
      throw new DeployException(DeployException.Kind.AWS, "Cannot read " + reference + " (" + setting + ") in " + region
          + ": " + AwsFailures.why(e, "ssm:GetParameter on it"), e);
    }
  }

  @Override
  public void close() {
    ssm.close();
  }
}
