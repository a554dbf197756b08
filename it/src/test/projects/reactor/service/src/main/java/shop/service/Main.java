package shop.service;

public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.out.println(shop.lib.Greeting.of("shop"));
  }
}
